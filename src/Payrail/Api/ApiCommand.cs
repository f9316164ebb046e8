namespace Payrail.Api;

/// <summary>`payrail api`: the payment service alone, serving until cancelled.</summary>
public static class ApiCommand
{
    public static async Task<int> RunAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        await using var app = ApiHost.Build(configuration);
        await app.StartAsync(cancellationToken);
        Console.WriteLine($"api        {string.Join(", ", app.Urls)}");
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await app.StopAsync(deadline.Token);
        return 0;
    }
}

using Payrail.DevEnvironment;

namespace Payrail.Worker;

/// <summary>
/// PLACEHOLDER for `payrail worker`, so that `up` has a worker to supervise while the real one is built: a host that
/// serves /healthz and /readyz on Worker:ManagementUrls (default http://127.0.0.1:9082) until SIGTERM and does no
/// work. Replaced by the real worker (src/Payrail/Worker/) at merge.
/// </summary>
public static class WorkerPlaceholder
{
    public static async Task<int> RunAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(configuration);
        var urls = configuration["Worker:ManagementUrls"] is { Length: > 0 } configured ? configured : PlatformRoles.DefaultWorkerManagementUrls;
        builder.WebHost.UseUrls(urls);
        await using var app = builder.Build();
        app.MapGet("/healthz", () => Results.Json(new { status = "ok" }));
        app.MapGet("/readyz", () => Results.Json(new { status = "ready" }));
        await app.StartAsync(cancellationToken);
        Console.WriteLine($"worker     {urls} (placeholder: no loops yet)");
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(deadline.Token);
        return 0;
    }
}

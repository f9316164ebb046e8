using Payrail.Hosting;

namespace Payrail.Api;

/// <summary>`payrail api`: the payment service alone, serving until cancelled.</summary>
public static class ApiCommand
{
    public static Task<int> RunAsync(IConfiguration configuration, CancellationToken cancellationToken) =>
        RoleCommand.RunAsync("api", () => ApiHost.Build(configuration), cancellationToken);

    /// <summary>Waits (bounded) until something accepts TCP connections at the address; gives up silently at the deadline.</summary>
    public static async Task WaitUntilListeningAsync(Uri address, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + deadline;
        while (DateTime.UtcNow < until && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(TimeSpan.FromMilliseconds(500));
                await client.ConnectAsync(address.Host, address.Port, attempt.Token);
                return;
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), CancellationToken.None);
            }
        }
    }
}

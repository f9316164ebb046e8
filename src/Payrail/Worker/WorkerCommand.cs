using Payrail.Hosting;

namespace Payrail.Worker;

/// <summary>`payrail worker`: the background loops alone, serving their management listener until cancelled.</summary>
public static class WorkerCommand
{
    public static Task<int> RunAsync(IConfiguration configuration, CancellationToken cancellationToken) =>
        RoleCommand.RunAsync("worker", () => WorkerHost.Build(configuration), cancellationToken);
}

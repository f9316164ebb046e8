namespace Payrail.Worker;

/// <summary>One background loop's line in `payrail status` (e.g. "relay: backlog 0, oldest 0.0 s, partitions 16/16").</summary>
public sealed record WorkerLoopReport(string Name, Func<string> Summary);

/// <summary>
/// <c>GET /loops</c> on the worker's management listener: each registered loop's one-line summary, which `payrail
/// status` prints in the worker's loops column. A loop adds itself with a <see cref="WorkerLoopReport"/> singleton.
/// </summary>
public static class WorkerLoops
{
    public const string Path = "/loops";

    public static IEndpointRouteBuilder MapWorkerLoops(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, (IEnumerable<WorkerLoopReport> loops) =>
            Results.Json(loops.ToDictionary(l => l.Name, l => l.Summary()))).ExcludeFromDescription();
        return app;
    }
}

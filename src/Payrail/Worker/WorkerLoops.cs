using System.Collections.Concurrent;
using System.Text.Json;

namespace Payrail.Worker;

/// <summary>One background loop's last run as `payrail status` shows it.</summary>
public sealed record WorkerLoopRun(string Loop, DateTimeOffset At, bool Ok, string Summary);

/// <summary>
/// The worker's loops report their last run here; the management listener serves them at <see cref="Path"/> and
/// `payrail status` prints them in the worker's row.
/// </summary>
public sealed class WorkerLoops
{
    public const string Path = "/loops";
    private readonly ConcurrentDictionary<string, WorkerLoopRun> _runs = new(StringComparer.Ordinal);

    public void Report(WorkerLoopRun run) => _runs[run.Loop] = run;

    public IReadOnlyList<WorkerLoopRun> Snapshot() => [.. _runs.Values.OrderBy(r => r.Loop, StringComparer.Ordinal)];

    public static IEndpointRouteBuilder MapWorkerLoops(IEndpointRouteBuilder app)
    {
        app.MapGet(Path, (WorkerLoops loops) => Results.Text(
            JsonSerializer.Serialize(loops.Snapshot().Select(r => new { loop = r.Loop, at = r.At, ok = r.Ok, summary = r.Summary })),
            "application/json"));
        return app;
    }
}

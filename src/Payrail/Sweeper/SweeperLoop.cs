using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Psp;
using Payrail.Worker;

namespace Payrail.Sweeper;

/// <summary>
/// The sweeper in `payrail worker`: one sweep every <see cref="SweeperOptions.Interval"/> on the host's clock, each
/// reported to <see cref="WorkerLoops"/> (`payrail status`). A sweep that fails (database or PSP down) loses nothing:
/// leases run out and the next sweep goes on.
/// </summary>
public sealed class SweeperLoop(Sweeper sweeper, WorkerLoops loops, IOptions<SweeperOptions> options, TimeProvider clock,
    ILogger<SweeperLoop> logger) : BackgroundService
{
    public const string LoopName = "sweeper";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.Interval;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var report = await sweeper.RunOnceAsync(stoppingToken);
                loops.Report(new WorkerLoopRun(LoopName, report.At, Ok: true, report.Summary));
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or PspUnavailableException or PspRequestRejectedException
                                      && !stoppingToken.IsCancellationRequested)
            {
                loops.Report(new WorkerLoopRun(LoopName, clock.GetUtcNow(), Ok: false, $"failed: {e.GetType().Name}"));
                logger.LogWarning("Sweep failed ({Error}); next one in {IntervalMs} ms", e.GetType().Name, (long)interval.TotalMilliseconds);
            }
            try
            {
                await Task.Delay(interval, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}

using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Psp;
using Payrail.Worker;

namespace Payrail.Sweeper;

/// <summary>
/// The sweeper in `payrail worker`: one sweep every <see cref="SweeperOptions.Interval"/> on the host's clock, each
/// its outcome reported in the worker's loops (`payrail status`). A sweep that fails (database or PSP down) loses nothing:
/// leases run out and the next sweep goes on.
/// </summary>
public sealed class SweeperLoop(Sweeper sweeper, IOptions<SweeperOptions> options, TimeProvider clock,
    ILogger<SweeperLoop> logger) : BackgroundService
{
    public const string LoopName = "sweeper";

    private sealed record LastSweep(DateTimeOffset At, string Summary);
    private volatile LastSweep? _last;

    /// <summary>The last sweep's summary and how long ago it ran, for `payrail status`.</summary>
    public string Status() => _last is { } last
        ? $"sweeper: {last.Summary} ({(long)(clock.GetUtcNow() - last.At).TotalSeconds} s ago)"
        : "sweeper: no sweep yet";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.Interval;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var report = await sweeper.RunOnceAsync(stoppingToken);
                _last = new LastSweep(report.At, report.Summary);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or PspUnavailableException or PspRequestRejectedException
                                      && !stoppingToken.IsCancellationRequested)
            {
                _last = new LastSweep(clock.GetUtcNow(), $"failed: {e.GetType().Name}");
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

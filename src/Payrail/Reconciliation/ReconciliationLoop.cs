using Microsoft.Extensions.Options;

namespace Payrail.Reconciliation;

/// <summary>
/// The scheduled reconciliation in `payrail worker`: at each occurrence of <see cref="ReconciliationOptions.Schedule"/>
/// (UTC) one run of the period before it (<see cref="ReconciliationOptions.ScheduledWindow"/>: the previous UTC day by
/// default, the previous hour with Period hour). It sleeps at most <see cref="ReconciliationOptions.MaxSleep"/> at a
/// time. A run that fails (PSP or database down, a malformed page, another run of the window) is tried again at the
/// next wake-up until one completes; a completed run with breaks has alerted, and is not repeated.
/// </summary>
public sealed class ReconciliationLoop(WindowReconciliation reconciliation, IOptions<ReconciliationOptions> options, TimeProvider clock,
    ILogger<ReconciliationLoop> logger) : BackgroundService
{
    public const string LoopName = "reconciliation";

    private readonly ReconciliationOptions _options = options.Value;
    private sealed record LastRun(DateTimeOffset At, string Summary);
    private volatile LastRun? _last;
    private DateTimeOffset? _next;

    /// <summary>The last run's summary, how long ago, and when the next is due, for `payrail status`.</summary>
    public string Status()
    {
        var next = _next is { } n ? $"; next {n:yyyy-MM-dd HH:mm}Z" : "";
        return _last is { } last
            ? $"reconciliation: {last.Summary} ({(long)(clock.GetUtcNow() - last.At).TotalSeconds} s ago){next}"
            : $"reconciliation: no run yet{next}";
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var cron = _options.ParseSchedule();
        _next = Next(cron, clock.GetUtcNow());
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = clock.GetUtcNow();
            if (_next is { } due && now >= due && await RunAsync(_options.ScheduledWindow(due), stoppingToken)) _next = Next(cron, now);
            var sleep = _next is { } next ? Min(next - clock.GetUtcNow(), _options.MaxSleep) : _options.MaxSleep;
            try
            {
                await Task.Delay(sleep > TimeSpan.Zero ? sleep : TimeSpan.FromMilliseconds(10), clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<bool> RunAsync(ReconciliationWindow window, CancellationToken stoppingToken)
    {
        try
        {
            var report = await reconciliation.RunAsync(window, ReconciliationReport.ScheduleTrigger, dryRun: false, stoppingToken);
            _last = new LastRun(clock.GetUtcNow(), report.Summary);
            return true;
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested && e is not OutOfMemoryException)
        {
            _last = new LastRun(clock.GetUtcNow(), $"{window} failed: {e.GetType().Name}");
            logger.LogWarning("Reconciliation of {Window} failed ({Error}); tried again in at most {MaxSleepMs} ms",
                window, e.GetType().Name, (long)_options.MaxSleep.TotalMilliseconds);
            return false;
        }
    }

    private static DateTimeOffset? Next(Cronos.CronExpression cron, DateTimeOffset after) =>
        cron.GetNextOccurrence(after.UtcDateTime, inclusive: false) is { } next ? new DateTimeOffset(next, TimeSpan.Zero) : null;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}

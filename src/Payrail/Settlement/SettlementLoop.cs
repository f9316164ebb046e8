using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Psp;

namespace Payrail.Settlement;

/// <summary>
/// The scheduled settlement in `payrail worker`: at each occurrence of <see cref="SettlementOptions.Schedule"/> (UTC, on
/// the host's clock) one run for that occurrence's date. It sleeps at most <see cref="SettlementOptions.MaxSleep"/> at a
/// time and then looks at the clock again. A run that fails (PSP or database down) is retried at the next wake-up, until
/// one for that occurrence succeeds: nothing is lost, since a run settles everything released in its lookback window.
/// </summary>
public sealed class SettlementLoop(DailySettlement settlement, IOptions<SettlementOptions> options, TimeProvider clock,
    ILogger<SettlementLoop> logger) : BackgroundService
{
    public const string LoopName = "settlement";

    private readonly SettlementOptions _options = options.Value;
    private sealed record LastRun(DateTimeOffset At, string Summary);
    private volatile LastRun? _last;
    private DateTimeOffset? _next;

    /// <summary>The last run's summary, how long ago, and when the next is due, for `payrail status`.</summary>
    public string Status()
    {
        var next = _next is { } n ? $"; next {n:yyyy-MM-dd HH:mm}Z" : "";
        return _last is { } last
            ? $"settlement: {last.Summary} ({(long)(clock.GetUtcNow() - last.At).TotalSeconds} s ago){next}"
            : $"settlement: no run yet{next}";
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var cron = _options.ParseSchedule();
        _next = Next(cron, clock.GetUtcNow());
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = clock.GetUtcNow();
            if (_next is { } due && now >= due)
            {
                if (await RunAsync(DateOnly.FromDateTime(due.UtcDateTime), stoppingToken)) _next = Next(cron, now);
            }
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

    private async Task<bool> RunAsync(DateOnly date, CancellationToken stoppingToken)
    {
        try
        {
            var report = await settlement.RunOnceAsync(date, SettlementReport.ScheduleTrigger, stoppingToken);
            _last = new LastRun(clock.GetUtcNow(), report.Summary);
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException or PspUnavailableException
                                       or PspRequestRejectedException or InvalidOperationException && !stoppingToken.IsCancellationRequested)
        {
            _last = new LastRun(clock.GetUtcNow(), $"{date:yyyy-MM-dd} failed: {e.GetType().Name}");
            logger.LogWarning("Settlement for {Date} failed ({Error}); retried in at most {MaxSleepMs} ms",
                date, e.GetType().Name, (long)_options.MaxSleep.TotalMilliseconds);
            return false;
        }
    }

    private static DateTimeOffset? Next(Cronos.CronExpression cron, DateTimeOffset after) =>
        cron.GetNextOccurrence(after.UtcDateTime, inclusive: false) is { } next ? new DateTimeOffset(next, TimeSpan.Zero) : null;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}

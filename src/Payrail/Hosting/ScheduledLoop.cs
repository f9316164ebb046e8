using Cronos;

namespace Payrail.Hosting;

/// <summary>
/// A job the worker runs at each occurrence of a cron schedule (UTC, on the host's clock): settlement, reconciliation.
/// It sleeps at most <c>maxSleep</c> at a time and then looks at the clock again. A run that fails with an error
/// <see cref="IsRetryable"/> accepts is tried again at the next wake-up, until one for that occurrence completes; only
/// then is the next occurrence due. <see cref="Status"/> is the loop's line in `payrail status`.
/// </summary>
public abstract class ScheduledLoop(string name, CronExpression schedule, TimeSpan maxSleep, TimeProvider clock, ILogger logger)
    : BackgroundService
{
    private sealed record LastRun(DateTimeOffset At, string Summary);
    private volatile LastRun? _last;
    private DateTimeOffset? _next;

    /// <summary>A schedule as every loop reads it: a 5-field cron expression, in UTC.</summary>
    public static CronExpression ParseSchedule(string schedule) => CronExpression.Parse(schedule, CronFormat.Standard);

    /// <summary>Whether <paramref name="schedule"/> is one <see cref="ParseSchedule"/> reads (for a setting's check).</summary>
    public static bool IsSchedule(string? schedule)
    {
        if (string.IsNullOrWhiteSpace(schedule) || schedule.Length > 200) return false;
        try
        {
            ParseSchedule(schedule);
            return true;
        }
        catch (CronFormatException)
        {
            return false;
        }
    }

    /// <summary>One run for the occurrence <paramref name="due"/>; returns its summary.</summary>
    protected abstract Task<string> RunAsync(DateTimeOffset due, CancellationToken cancellationToken);

    /// <summary>What a run for <paramref name="due"/> covers, in a failure's summary and log line.</summary>
    protected abstract string Describe(DateTimeOffset due);

    /// <summary>Whether a run that threw <paramref name="error"/> is tried again at the next wake-up (else the loop stops).</summary>
    protected abstract bool IsRetryable(Exception error);

    /// <summary>The last run's summary, how long ago, and when the next is due.</summary>
    public string Status()
    {
        var next = _next is { } n ? $"; next {n:yyyy-MM-dd HH:mm}Z" : "";
        return _last is { } last
            ? $"{name}: {last.Summary} ({(long)(clock.GetUtcNow() - last.At).TotalSeconds} s ago){next}"
            : $"{name}: no run yet{next}";
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _next = Next(clock.GetUtcNow());
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = clock.GetUtcNow();
            if (_next is { } due && now >= due && await TryRunAsync(due, stoppingToken)) _next = Next(now);
            var sleep = _next is { } next && next - clock.GetUtcNow() < maxSleep ? next - clock.GetUtcNow() : maxSleep;
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

    private async Task<bool> TryRunAsync(DateTimeOffset due, CancellationToken stoppingToken)
    {
        try
        {
            _last = new LastRun(clock.GetUtcNow(), await RunAsync(due, stoppingToken));
            return true;
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested && IsRetryable(e))
        {
            _last = new LastRun(clock.GetUtcNow(), $"{Describe(due)} failed: {e.GetType().Name}");
            logger.LogWarning("{Loop} run for {Occurrence} failed ({Error}); tried again in at most {MaxSleepMs} ms",
                name, Describe(due), e.GetType().Name, (long)maxSleep.TotalMilliseconds);
            return false;
        }
    }

    private DateTimeOffset? Next(DateTimeOffset after) =>
        schedule.GetNextOccurrence(after.UtcDateTime, inclusive: false) is { } next ? new DateTimeOffset(next, TimeSpan.Zero) : null;
}

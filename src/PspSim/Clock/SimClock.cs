namespace PspSim.Clock;

/// <summary>
/// The sandbox's wall clock: real time plus an offset that /_sim/clock/advance moves forward, so a test can reach
/// "seven days later" (an authorization expiring) without waiting. Only forward; monotonic timestamps (latency, timeouts)
/// are untouched. The offset lives in memory: a restart returns to real time (objects keep their timestamps).
/// </summary>
public sealed class SimClock(TimeProvider inner) : TimeProvider
{
    /// <summary>Longest single advance: a year is past every lifecycle pspsim models.</summary>
    public const long MaxAdvanceSeconds = 366L * 86_400;
    private long _offsetSeconds;

    public long OffsetSeconds => Interlocked.Read(ref _offsetSeconds);

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow().AddSeconds(OffsetSeconds);

    public override long GetTimestamp() => inner.GetTimestamp();

    public void Advance(long seconds)
    {
        if (seconds is < 1 or > MaxAdvanceSeconds) throw new ArgumentOutOfRangeException(nameof(seconds), $"must be 1..{MaxAdvanceSeconds}");
        Interlocked.Add(ref _offsetSeconds, seconds);
    }
}

using HdrHistogram;

namespace Payrail.Bench;

/// <summary>
/// Latency percentiles and the longest stall of one load run. A stall is an interval during which no request completed
/// while at least one was outstanding (due, not yet answered): at 300/s answers normally arrive every few ms, so a
/// 300 ms stall means everything stopped for 300 ms, where p99 only says that 1 % of requests were slow. Every request
/// counts from when it was due (open loop: its intended send time, so a stalled client does not hide a stalled server).
/// The client's own pauses (its GC, its thread pool) are part of what is measured.
/// </summary>
public sealed class LatencyRecorder
{
    public const long HighestTrackableMicros = 60_000_000;

    private readonly Lock _gate = new();
    private readonly LongHistogram _latencyMicros = new(HighestTrackableMicros, 3);
    private readonly Dictionary<string, long> _errors = [];
    // Requests sent and not yet answered, by when they were due (the oldest bounds the current stall from below).
    private readonly SortedSet<(TimeSpan Due, long Sequence)> _outstanding = [];
    private long _sequence;
    private long _succeeded;
    private long _failed;
    private TimeSpan _lastCompletion = TimeSpan.Zero;
    private TimeSpan _longestStall;
    private TimeSpan _longestStallEnd;

    /// <summary>A request due at <paramref name="due"/> (on the run's clock) is sent; pass the handle to <see cref="Complete"/>.</summary>
    public (TimeSpan Due, long Sequence) Begin(TimeSpan due)
    {
        lock (_gate)
        {
            var handle = (due, ++_sequence);
            _outstanding.Add(handle);
            return handle;
        }
    }

    /// <summary>The request answered (<paramref name="failure"/> null) or failed at <paramref name="now"/>.</summary>
    public void Complete((TimeSpan Due, long Sequence) handle, string? failure, TimeSpan now)
    {
        lock (_gate)
        {
            // Nothing completed since the previous completion; something was outstanding since the oldest due time.
            var stalledSince = _outstanding.Count > 0 ? Max(_lastCompletion, _outstanding.Min.Due) : now;
            if (now - stalledSince > _longestStall)
            {
                _longestStall = now - stalledSince;
                _longestStallEnd = now;
            }
            _outstanding.Remove(handle);
            _lastCompletion = Max(_lastCompletion, now);
            _latencyMicros.RecordValue(Math.Clamp((long)(now - handle.Due).TotalMicroseconds, 1, HighestTrackableMicros));
            Count(failure);
        }
    }

    /// <summary>A request that was never sent (the generator's in-flight bound): a failure, with no latency to record.</summary>
    public void NotSent(string failure)
    {
        lock (_gate) Count(failure);
    }

    private void Count(string? failure)
    {
        if (failure is null) { _succeeded++; return; }
        _failed++;
        _errors[failure] = _errors.GetValueOrDefault(failure) + 1;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    public LatencyReport ToReport(string target, double seconds)
    {
        lock (_gate)
        {
            return new LatencyReport(target, _succeeded, _failed, seconds, (LongHistogram)_latencyMicros.Copy(),
                _longestStall, _longestStallEnd, new Dictionary<string, long>(_errors));
        }
    }
}

/// <summary>One target's figures: counts, latency (µs, from when each request was due) and the longest stall (ended at <see cref="LongestStallEnd"/> into the run).</summary>
public sealed record LatencyReport(string Target, long Succeeded, long Failed, double Seconds, LongHistogram LatencyMicros,
    TimeSpan LongestStall, TimeSpan LongestStallEnd, IReadOnlyDictionary<string, long> ErrorsByKind)
{
    public double PerSecond => Succeeded / Seconds;
    public double Millis(double percentile) => LatencyMicros.TotalCount == 0 ? 0 : LatencyMicros.GetValueAtPercentile(percentile) / 1000.0;
}

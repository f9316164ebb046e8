using System.Collections.Concurrent;

namespace Payrail.Gateway;

/// <summary>
/// This instance's own buckets, used while Redis cannot be reached: the limit then holds per instance (N instances let
/// a caller through up to N times the rate), which is looser than the shared limit but never unlimited. Bounded by
/// <see cref="RateLimitOptions.MaxLocalBuckets"/>: idle buckets (full again) are dropped first; when every bucket is
/// busy a new caller is refused rather than let through unmetered.
/// </summary>
public sealed class LocalTokenBuckets(int maxBuckets)
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    public int Count => _buckets.Count;

    public RateDecision Take(string key, long nowMs, RoleRate rate)
    {
        if (!_buckets.TryGetValue(key, out var bucket))
        {
            if (_buckets.Count >= maxBuckets && !DropIdle(nowMs))
                return new RateDecision(false, 0, 1_000, 1_000);
            bucket = _buckets.GetOrAdd(key, _ => new Bucket());
        }
        lock (bucket)
        {
            var (state, decision) = TokenBucket.Take(bucket.State, nowMs, rate.RequestsPerSecond, rate.BurstRequests);
            bucket.State = state;
            bucket.FullAtMs = nowMs + decision.FullInMs;
            return decision;
        }
    }

    /// <summary>Drops every bucket that is full again (the same as no bucket); false when none was.</summary>
    private bool DropIdle(long nowMs)
    {
        var dropped = false;
        foreach (var (key, bucket) in _buckets)
        {
            if (Volatile.Read(ref bucket.FullAtMs) > nowMs) continue;
            dropped |= _buckets.TryRemove(key, out _);
        }
        return dropped;
    }

    private sealed class Bucket
    {
        public TokenBucketState? State;
        public long FullAtMs;
    }
}

namespace Payrail.Gateway;

/// <summary>What a bucket said to one request.</summary>
/// <param name="RemainingRequests">Whole requests left in the bucket after this one.</param>
/// <param name="RetryAfterMs">When refused: how long until one request's worth has refilled; 0 when allowed.</param>
/// <param name="FullInMs">How long until the bucket is full again (the IETF header's reset).</param>
public readonly record struct RateDecision(bool Allowed, long RemainingRequests, long RetryAfterMs, long FullInMs);

/// <summary>A bucket's stored state: milli-requests held, as of <see cref="AtMs"/> (Unix ms).</summary>
public readonly record struct TokenBucketState(long MilliTokens, long AtMs);

/// <summary>
/// The token bucket, in integers: a request costs 1000 milli-tokens and <c>rate</c> requests per second refill
/// exactly <c>rate</c> milli-tokens per millisecond, so no fraction is ever rounded. The Redis script
/// (<see cref="RedisTokenBuckets.Script"/>) is this function line for line; the local fallback calls it directly.
/// A clock that went backwards (another gateway's clock behind this one) refills nothing and keeps the later time:
/// skew between instances can delay a refill, never grant an extra request.
/// </summary>
public static class TokenBucket
{
    public const long MilliTokensPerRequest = 1000;

    public static (TokenBucketState State, RateDecision Decision) Take(TokenBucketState? stored, long nowMs, long ratePerSecond, long burst)
    {
        var capacity = burst * MilliTokensPerRequest;
        var (tokens, at) = stored is { } s ? (s.MilliTokens, s.AtMs) : (capacity, nowMs);
        if (nowMs > at)
        {
            tokens = Math.Min(capacity, tokens + (nowMs - at) * ratePerSecond);
            at = nowMs;
        }
        var allowed = tokens >= MilliTokensPerRequest;
        if (allowed) tokens -= MilliTokensPerRequest;
        var retryAfterMs = allowed ? 0 : CeilDiv(MilliTokensPerRequest - tokens, ratePerSecond);
        var fullInMs = CeilDiv(capacity - tokens, ratePerSecond);
        return (new TokenBucketState(tokens, at), new RateDecision(allowed, tokens / MilliTokensPerRequest, retryAfterMs, fullInMs));
    }

    /// <summary>How long a bucket must be kept: once full again, a missing bucket and a full one are the same.</summary>
    public static long TimeToFullMs(long ratePerSecond, long burst) => CeilDiv(burst * MilliTokensPerRequest, ratePerSecond);

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;
}

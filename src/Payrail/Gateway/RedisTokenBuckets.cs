using StackExchange.Redis;

namespace Payrail.Gateway;

/// <summary>
/// The shared buckets: one hash per caller in Redis, read, refilled, taken from and written back by one Lua script,
/// so two gateway instances can never both take the last token. The key expires once the bucket would be full again
/// (an expired bucket and a full one are the same), so idle callers cost no memory. The time comes from the calling
/// gateway (tests pin it; see <see cref="TokenBucket"/> for skew). Async only: RedisRateLimiting's synchronous
/// acquire path starved the thread pool under load (its issue #66), and its keys did not expire (issue #197).
/// </summary>
public sealed class RedisTokenBuckets(IConnectionMultiplexer redis)
{
    /// <summary><see cref="TokenBucket.Take"/> in Lua. KEYS[1] the bucket; ARGV now (Unix ms), rate per s, burst.</summary>
    public const string Script = """
        local now = tonumber(ARGV[1])
        local rate = tonumber(ARGV[2])
        local capacity = tonumber(ARGV[3]) * 1000
        local stored = redis.call('HMGET', KEYS[1], 't', 'at')
        local tokens = tonumber(stored[1])
        local at = tonumber(stored[2])
        if tokens == nil or at == nil then
          tokens = capacity
          at = now
        end
        if now > at then
          tokens = math.min(capacity, tokens + (now - at) * rate)
          at = now
        end
        local allowed = 0
        if tokens >= 1000 then
          allowed = 1
          tokens = tokens - 1000
        end
        local retry = 0
        if allowed == 0 then
          retry = math.floor((1000 - tokens + rate - 1) / rate)
        end
        local full = math.floor((capacity - tokens + rate - 1) / rate)
        redis.call('HSET', KEYS[1], 't', tokens, 'at', at)
        redis.call('PEXPIRE', KEYS[1], math.floor((capacity + rate - 1) / rate) + 1000)
        return {allowed, math.floor(tokens / 1000), retry, full}
        """;

    public async Task<RateDecision> TakeAsync(string key, long nowMs, RoleRate rate)
    {
        var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(Script, [key],
            [nowMs, rate.RequestsPerSecond, rate.BurstRequests]))!;
        return new RateDecision((long)result[0] == 1, (long)result[1], (long)result[2], (long)result[3]);
    }
}

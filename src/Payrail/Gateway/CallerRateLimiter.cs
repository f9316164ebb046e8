using System.Diagnostics.Metrics;
using Payrail.Auth;
using StackExchange.Redis;

namespace Payrail.Gateway;

/// <summary>
/// The per-caller limit of DESIGN.md's step 1: the shared bucket in Redis when it answers within
/// <see cref="RateLimitOptions.RedisTimeoutMs"/>, else this instance's local bucket (never unlimited). After a failure
/// the local buckets decide for <see cref="RateLimitOptions.RedisRetryAfterMs"/> so an outage costs one timeout per
/// interval, not one per request; then Redis is tried again and, once it answers, shared limiting resumes by itself.
/// Every decision is counted by store (<c>redis</c> / <c>local</c>) and outcome.
/// </summary>
public sealed class CallerRateLimiter
{
    public const string MeterName = "Payrail.Gateway";

    private readonly RedisTokenBuckets _redis;
    private readonly LocalTokenBuckets _local;
    private readonly RateLimitOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<CallerRateLimiter> _logger;
    private readonly Counter<long> _decisions;
    private readonly Counter<long> _redisFailures;
    private long _redisRetryAtMs;
    private int _redisDown;

    public CallerRateLimiter(IConnectionMultiplexer redis, GatewayOptions options, TimeProvider time, IMeterFactory meters,
        ILogger<CallerRateLimiter> logger)
    {
        _redis = new RedisTokenBuckets(redis);
        _options = options.RateLimit;
        _local = new LocalTokenBuckets(_options.MaxLocalBuckets);
        _time = time;
        _logger = logger;
        var meter = meters.Create(MeterName);
        _decisions = meter.CreateCounter<long>("payrail.gateway.rate_limit.decisions", description:
            "Rate-limit decisions by store (redis: shared by every instance; local: this instance alone, Redis unreachable) and outcome");
        _redisFailures = meter.CreateCounter<long>("payrail.gateway.rate_limit.redis_failures", description:
            "Rate-limit script calls that failed or timed out; the local bucket decided instead");
    }

    /// <summary>True while the local buckets decide (Redis failed within the last RedisRetryAfterMs).</summary>
    public bool UsingLocalBuckets => _time.GetUtcNow().ToUnixTimeMilliseconds() < Interlocked.Read(ref _redisRetryAtMs);

    public async Task<RateDecision> TakeAsync(Caller caller, CancellationToken cancellationToken)
    {
        var rate = _options.For(caller.Role);
        // Role and subject: the role has no ':' (Roles.IsKnown), so "buyer:a:b" can only be buyer "a:b".
        var key = $"{_options.KeyPrefix}{caller.Role}:{caller.Subject}";
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (nowMs >= Interlocked.Read(ref _redisRetryAtMs))
        {
            try
            {
                var shared = await _redis.TakeAsync(key, nowMs, rate).WaitAsync(TimeSpan.FromMilliseconds(_options.RedisTimeoutMs), cancellationToken);
                if (Interlocked.Exchange(ref _redisDown, 0) == 1) _logger.LogInformation("Rate limit: Redis answers again; shared buckets decide");
                return Count(shared, "redis");
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                _redisFailures.Add(1);
                Interlocked.Exchange(ref _redisRetryAtMs, nowMs + _options.RedisRetryAfterMs);
                if (Interlocked.Exchange(ref _redisDown, 1) == 0)
                    _logger.LogWarning("Rate limit: Redis unreachable ({Error}); local buckets decide, Redis retried every {RetryMs} ms", e.GetType().Name, _options.RedisRetryAfterMs);
            }
        }
        return Count(_local.Take(key, nowMs, rate), "local");
    }

    private RateDecision Count(RateDecision decision, string store)
    {
        _decisions.Add(1, new KeyValuePair<string, object?>("store", store),
            new KeyValuePair<string, object?>("outcome", decision.Allowed ? "allowed" : "limited"));
        return decision;
    }
}

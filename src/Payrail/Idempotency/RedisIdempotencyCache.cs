using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Payrail.Idempotency;

/// <summary>What Redis holds for a key: a processing lease or the completed response.</summary>
public sealed record CachedIdempotencyEntry(
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("fingerprint")] string Fingerprint,
    [property: JsonPropertyName("lease_expires_at_ms")] long LeaseExpiresAtMs,
    [property: JsonPropertyName("status")] int ResponseStatus,
    [property: JsonPropertyName("body")] string? ResponseBody)
{
    public const string Processing = "processing";
    public const string Completed = "completed";

    public static CachedIdempotencyEntry Lease(string fingerprint, DateTimeOffset leaseExpiresAt) =>
        new(Processing, fingerprint, leaseExpiresAt.ToUnixTimeMilliseconds(), 0, null);

    public static CachedIdempotencyEntry Response(string fingerprint, int status, string body) =>
        new(Completed, fingerprint, 0, status, body);
}

public enum CacheBegin
{
    /// <summary>Redis could not be asked (down, slow or circuit open): PostgreSQL alone decides.</summary>
    Unavailable,

    /// <summary>SET NX took the key: probably fresh, PostgreSQL confirms.</summary>
    Claimed,

    /// <summary>The key was already there; see the entry.</summary>
    Existing,
}

/// <summary>
/// The bouncer in front of PostgreSQL (DESIGN.md step 3). It only ever short-cuts answers that
/// PostgreSQL would give too; when it is unreachable every call returns at once (after at most
/// one bounded timeout per <see cref="IdempotencyOptions.RedisRetryAfterMs"/>) and PostgreSQL decides alone.
/// </summary>
public sealed class RedisIdempotencyCache(
    IConnectionMultiplexer redis,
    IOptions<IdempotencyOptions> options,
    TimeProvider clock,
    ILogger<RedisIdempotencyCache> logger)
{
    private readonly IdempotencyOptions _options = options.Value;
    private long _openUntilTicks;

    public bool IsAvailable => clock.GetUtcNow().UtcTicks >= Interlocked.Read(ref _openUntilTicks) && redis.IsConnected;

    public async Task<(CacheBegin Outcome, CachedIdempotencyEntry? Entry)> TryBeginAsync(string redisKey, CachedIdempotencyEntry lease)
    {
        var previous = await CallAsync(db => db.StringSetAndGetAsync(redisKey, Serialize(lease), _options.Retention, keepTtl: false, when: When.NotExists));
        if (previous is not { } value) return (CacheBegin.Unavailable, null);
        if (value.IsNull) return (CacheBegin.Claimed, null);
        var entry = Deserialize(value);
        // An unreadable entry is treated as absent: PostgreSQL decides.
        return entry is null ? (CacheBegin.Unavailable, null) : (CacheBegin.Existing, entry);
    }

    /// <summary>Overwrites the key (a completed response, or PostgreSQL's view of the lease). Best effort.</summary>
    public Task StoreAsync(string redisKey, CachedIdempotencyEntry entry) =>
        CallAsync(db => db.StringSetAsync(redisKey, Serialize(entry), _options.Retention));

    /// <summary>Drops our own lease when the request was refused before anything was written. Best effort.</summary>
    public Task ReleaseAsync(string redisKey, CachedIdempotencyEntry lease) =>
        CallAsync(db => db.ScriptEvaluateAsync(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
            [redisKey], [Serialize(lease)]));

    private async Task<RedisValue?> CallAsync<T>(Func<IDatabase, Task<T>> call)
    {
        if (!IsAvailable) return null;
        try
        {
            var result = await call(redis.GetDatabase()).WaitAsync(TimeSpan.FromMilliseconds(_options.RedisTimeoutMs)).ConfigureAwait(false);
            return result is RedisValue value ? value : RedisValue.EmptyString;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Interlocked.Exchange(ref _openUntilTicks, clock.GetUtcNow().AddMilliseconds(_options.RedisRetryAfterMs).UtcTicks);
            logger.LogWarning("Redis unavailable ({Error}); idempotency decided by PostgreSQL alone for {RetryAfterMs} ms",
                e.GetType().Name, _options.RedisRetryAfterMs);
            return null;
        }
    }

    private static string Serialize(CachedIdempotencyEntry entry) => JsonSerializer.Serialize(entry);

    private static CachedIdempotencyEntry? Deserialize(RedisValue value)
    {
        try
        {
            return JsonSerializer.Deserialize<CachedIdempotencyEntry>(value.ToString());
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

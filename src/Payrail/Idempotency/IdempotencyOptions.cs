namespace Payrail.Idempotency;

/// <summary>Section <c>Idempotency</c>.</summary>
public sealed class IdempotencyOptions
{
    public const string SectionName = "Idempotency";

    /// <summary>How long a request owns its key while it works. A retry after this takes over (the owner is presumed dead).</summary>
    public int LeaseMs { get; set; } = 30_000;

    /// <summary>How long a key and its stored response are kept (DESIGN.md: 24 h).</summary>
    public int RetentionHours { get; set; } = 24;

    /// <summary>Upper bound of one Redis call. Redis is a cache here, so waiting longer than a database round trip is pointless.</summary>
    public int RedisTimeoutMs { get; set; } = 250;

    /// <summary>After a Redis failure, go straight to PostgreSQL for this long before trying Redis again.</summary>
    public int RedisRetryAfterMs { get; set; } = 1_000;

    public TimeSpan Lease => TimeSpan.FromMilliseconds(LeaseMs);
    public TimeSpan Retention => TimeSpan.FromHours(RetentionHours);
}

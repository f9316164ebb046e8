namespace Payrail.Sweeper;

/// <summary>How the sweeper asks the PSP about a payment that has no PSP reference recorded.</summary>
public enum UnreferencedStep
{
    /// <summary>Re-issue the create under the payment's current PSP idempotency key: the PSP replays or runs it, once.</summary>
    ResumeCreate,

    /// <summary>The current key answered 5xx (replayed for 24 h): resolve by search, as the API's resume does.</summary>
    ResolveServerError,

    /// <summary>Search only: the payment is too old to send its key again, or its method is unknown, or it may be abandoned.</summary>
    Search,
}

/// <summary>The sweeper's pure decisions (tested without a database).</summary>
public static class SweepDecision
{
    /// <summary>
    /// The wait after a payment's <paramref name="checks"/>-th unresolved check: <see cref="SweeperOptions.FirstBackoff"/>,
    /// then <see cref="SweeperOptions.Backoff"/> <see cref="SweeperOptions.BackoffRepeats"/> times, then
    /// <see cref="SweeperOptions.MaxBackoff"/> for ever. Never more than MaxBackoff, never "stop asking".
    /// </summary>
    public static TimeSpan Backoff(int checks, SweeperOptions options)
    {
        if (checks <= 1) return options.FirstBackoff;
        return checks <= 1 + options.BackoffRepeats ? options.Backoff : options.MaxBackoff;
    }

    public static UnreferencedStep ForUnreferenced(TimeSpan age, bool knowsPaymentMethod, bool serverErrorRecorded, SweeperOptions options)
    {
        if (age >= options.AbandonAfter || age >= options.ResumeCreateWithin || !knowsPaymentMethod) return UnreferencedStep.Search;
        return serverErrorRecorded ? UnreferencedStep.ResolveServerError : UnreferencedStep.ResumeCreate;
    }

    /// <summary>
    /// A payment the PSP's search does not show is abandoned (FAILED, nothing charged) only when it is older than
    /// <see cref="SweeperOptions.AbandonAfter"/> and the search has had its freshness window since the last request that
    /// could have created it; else it stays, reported as stuck.
    /// </summary>
    public static bool Abandon(TimeSpan age, DateTimeOffset now, DateTimeOffset lastCreateSentAt, TimeSpan searchFreshness, SweeperOptions options) =>
        age >= options.AbandonAfter && now - lastCreateSentAt >= searchFreshness;

    /// <summary>Age buckets of the stuck-payments metric and report.</summary>
    public static string AgeBucket(TimeSpan stuckFor) => stuckFor switch
    {
        _ when stuckFor < TimeSpan.FromMinutes(5) => "lt_5m",
        _ when stuckFor < TimeSpan.FromHours(1) => "5m_1h",
        _ when stuckFor < TimeSpan.FromDays(1) => "1h_24h",
        _ => "ge_24h",
    };
}

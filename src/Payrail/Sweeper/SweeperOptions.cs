namespace Payrail.Sweeper;

/// <summary>Section <c>Sweeper</c>: every bound and period of the stuck-payment sweeper and the events catch-up, in one place.</summary>
public sealed class SweeperOptions
{
    public const string SectionName = "Sweeper";

    /// <summary>The worker runs the sweeper loop (off: the loop is not started; `payrail sweep --once` still works).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Pause between two sweeps.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A payment initiated or processing for longer than this (since its last change) is stuck: past the API's
    /// synchronous budget and its PSP retries, so the sweeper does not race a request still being answered.
    /// </summary>
    public TimeSpan Threshold { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Payments leased by one statement (one short transaction; the PSP calls happen after it committed).</summary>
    public int BatchSize { get; set; } = 50;

    /// <summary>Batches in one sweep: bounds a sweep's time after an outage left a backlog; the next sweep goes on.</summary>
    public int MaxBatchesPerSweep { get; set; } = 10;

    /// <summary>PSP checks of one batch in flight at once.</summary>
    public int MaxConcurrentChecks { get; set; } = 4;

    /// <summary>Deadline of one payment's check: every PSP call it makes (search, retrieve, create, void) and its write.</summary>
    public TimeSpan CheckTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a leased payment (or the events cursor) stays with the sweeper that took it. Must outlast a whole batch
    /// (validated): a lease that ran out mid-batch would let a second sweeper check the same payment.
    /// </summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Backoff after a payment's first unresolved check.</summary>
    public TimeSpan FirstBackoff { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Backoff after each of the next <see cref="BackoffRepeats"/> unresolved checks.</summary>
    public TimeSpan Backoff { get; set; } = TimeSpan.FromMinutes(5);

    public int BackoffRepeats { get; set; } = 5;

    /// <summary>Backoff after every later unresolved check, forever: a stuck payment is never given up on silently.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// With no PSP reference recorded, the create is re-issued under the payment's PSP idempotency key only while the
    /// PSP still keeps that key's answer (Stripe: 24 h): past it, a same-key create could charge a second time, so the
    /// payment is only searched for.
    /// </summary>
    public TimeSpan ResumeCreateWithin { get; set; } = TimeSpan.FromHours(23);

    /// <summary>
    /// A payment the PSP never saw (its search finds nothing, a search-freshness window after our last create) and older
    /// than this becomes FAILED: nothing was charged. Any other unresolved payment stays, reported as stuck.
    /// </summary>
    public TimeSpan AbandonAfter { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The worker pages the PSP's events to apply outcomes whose webhooks never arrived.</summary>
    public bool CatchUpEnabled { get; set; } = true;

    /// <summary>Events per page of the catch-up (Stripe allows 1..100).</summary>
    public int EventsPageSize { get; set; } = 100;

    /// <summary>Pages of events per sweep: the rest waits for the next sweep, from the cursor.</summary>
    public int MaxEventPagesPerSweep { get; set; } = 10;

    /// <summary>With no cursor yet (first run), events this far back are read; older stuck payments are the sweeper's.</summary>
    public TimeSpan CatchUpLookback { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The batch's worst case: every check in turn on its deadline, <see cref="MaxConcurrentChecks"/> at a time.</summary>
    public TimeSpan WorstBatch => CheckTimeout * Math.Ceiling((double)Math.Max(BatchSize, 1) / Math.Max(MaxConcurrentChecks, 1));

    public IEnumerable<string> Problems()
    {
        if (!Within(Interval, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1))) yield return $"{SectionName}:Interval must be within [00:00:00.010, 01:00:00]";
        if (!Within(Threshold, TimeSpan.Zero, TimeSpan.FromDays(1))) yield return $"{SectionName}:Threshold must be within [00:00:00, 1.00:00:00]";
        if (BatchSize is < 1 or > 1_000) yield return $"{SectionName}:BatchSize must be within [1, 1000]";
        if (MaxBatchesPerSweep is < 1 or > 1_000) yield return $"{SectionName}:MaxBatchesPerSweep must be within [1, 1000]";
        if (MaxConcurrentChecks is < 1 or > 64) yield return $"{SectionName}:MaxConcurrentChecks must be within [1, 64]";
        if (!Within(CheckTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5))) yield return $"{SectionName}:CheckTimeout must be within [00:00:00.100, 00:05:00]";
        if (!Within(Lease, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1))) yield return $"{SectionName}:Lease must be within [00:00:01, 01:00:00]";
        else if (Lease <= WorstBatch) yield return $"{SectionName}:Lease must exceed CheckTimeout × ceil(BatchSize / MaxConcurrentChecks) ({WorstBatch})";
        if (!Within(FirstBackoff, TimeSpan.FromMilliseconds(10), TimeSpan.FromDays(1))) yield return $"{SectionName}:FirstBackoff must be within [00:00:00.010, 1.00:00:00]";
        if (!Within(Backoff, FirstBackoff, TimeSpan.FromDays(1))) yield return $"{SectionName}:Backoff must be within [FirstBackoff, 1.00:00:00]";
        if (BackoffRepeats is < 0 or > 100) yield return $"{SectionName}:BackoffRepeats must be within [0, 100]";
        if (!Within(MaxBackoff, Backoff, TimeSpan.FromDays(1))) yield return $"{SectionName}:MaxBackoff must be within [Backoff, 1.00:00:00]";
        if (!Within(ResumeCreateWithin, TimeSpan.Zero, TimeSpan.FromHours(23))) yield return $"{SectionName}:ResumeCreateWithin must be within [00:00:00, 23:00:00] (the PSP keeps an idempotency key 24 h)";
        if (!Within(AbandonAfter, Threshold, TimeSpan.FromDays(30))) yield return $"{SectionName}:AbandonAfter must be within [Threshold, 30.00:00:00]";
        if (EventsPageSize is < 1 or > 100) yield return $"{SectionName}:EventsPageSize must be within [1, 100]";
        if (MaxEventPagesPerSweep is < 1 or > 1_000) yield return $"{SectionName}:MaxEventPagesPerSweep must be within [1, 1000]";
        if (!Within(CatchUpLookback, TimeSpan.Zero, TimeSpan.FromDays(30))) yield return $"{SectionName}:CatchUpLookback must be within [00:00:00, 30.00:00:00]";
    }

    /// <summary>
    /// A threshold within the API's synchronous budget would have the sweeper race requests still being answered (a
    /// same-key create charges once, but the buyer would get an answer the sweeper decided).
    /// </summary>
    public IEnumerable<string> ProblemsWith(int syncBudgetMs)
    {
        if (Threshold <= TimeSpan.FromMilliseconds(syncBudgetMs)) yield return $"{SectionName}:Threshold must exceed Payments:SyncBudgetMs";
    }

    /// <summary><c>Payments:AuthorizationExpiry</c>, checked here because the sweeper is what acts on it.</summary>
    public static IEnumerable<string> AuthorizationExpiryProblems(TimeSpan expiry)
    {
        if (!Within(expiry, TimeSpan.FromSeconds(1), TimeSpan.FromDays(31))) yield return "Payments:AuthorizationExpiry must be within [00:00:01, 31.00:00:00]";
    }

    private static bool Within(TimeSpan value, TimeSpan min, TimeSpan max) => value >= min && value <= max;
}

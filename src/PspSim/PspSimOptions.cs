using PspSim.BalanceTransactions;
using PspSim.Stripe;

namespace PspSim;

/// <summary>Configuration section "PspSim" (plus --data-dir on the command line).</summary>
public sealed class PspSimOptions
{
    public string DataDir { get; set; } = "";
    /// <summary>When non-empty, only these sk_test_ keys are accepted; otherwise any sk_test_ key is.</summary>
    public List<string> ApiKeys { get; set; } = [];
    /// <summary>
    /// The sandbox account's settlement currency (pspsim models one account): charges in a currency with a rate in
    /// <see cref="ExchangeRates"/> are booked in it (see <see cref="Settlement"/>).
    /// </summary>
    public string SettlementCurrency { get; set; } = "usd";
    /// <summary>
    /// Fixed FX table: currency → settlement-currency units one major unit of it buys, as a decimal string (never a
    /// floating-point number). Illustrative fixed rates, not market rates. A currency without a rate settles in itself.
    /// </summary>
    public Dictionary<string, string> ExchangeRates { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["eur"] = "1.08", ["gbp"] = "1.27", ["jpy"] = "0.0067",
    };
    /// <summary>
    /// Fee schedule per booked currency (PercentBps, FixedMinor in Stripe's unit of that currency): Stripe's standard
    /// domestic card pricing of a JP, EEA and UK account. Other currencies use <see cref="FeePercentBps"/> + <see cref="FeeFixedMinor"/>.
    /// </summary>
    public Dictionary<string, FeeSchedule> Fees { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["jpy"] = new() { PercentBps = 360, FixedMinor = 0 },
        ["eur"] = new() { PercentBps = 150, FixedMinor = 25 },
        ["gbp"] = new() { PercentBps = 150, FixedMinor = 20 },
    };
    /// <summary>Default processing fee (Stripe's US pricing): percent in basis points (290 = 2.9%) ...</summary>
    public long FeePercentBps { get; set; } = 290;
    /// <summary>... plus a fixed fee in minor units.</summary>
    public long FeeFixedMinor { get; set; } = 30;
    /// <summary>The payout delay: a charge's balance transaction becomes available (available_on) this many days after creation.</summary>
    public int AvailableAfterDays { get; set; } = 2;
    /// <summary>Stripe's automatic payouts of the available balance (Payouts/AutomaticPayouts); off: funds stay available.</summary>
    public bool AutomaticPayouts { get; set; } = true;
    /// <summary>Least time between two automatic payouts (Stripe's default schedule: daily).</summary>
    public long PayoutIntervalSeconds { get; set; } = 86_400;
    public int MaxBodyBytes { get; set; } = 64 * 1024;
    /// <summary>How long a "timeout" fault hangs a request (unless the client disconnects first).</summary>
    public int TimeoutFaultSeconds { get; set; } = 120;
    public const int DefaultMaxStoredEvents = 50_000;
    /// <summary>Events kept in memory (and listed); older ones are evicted first. 0 keeps all.</summary>
    public int MaxStoredEvents { get; set; } = DefaultMaxStoredEvents;
    /// <summary>
    /// Once the journal passes this many bytes it is folded into a snapshot of the live state and started afresh
    /// (≈8 KB of journal per payment through Payrail: the default compacts every ≈16,000 payments).
    /// </summary>
    public long MaxJournalBytes { get; set; } = 128L * 1024 * 1024;
    public const long MinJournalBytes = 16 * 1024;
    public const long MaxMaxJournalBytes = 16L * 1024 * 1024 * 1024;
    /// <summary>
    /// How fast a compaction writes its snapshot (0 = as fast as the disk takes it). At the default a 250 MB snapshot
    /// takes ≈8 s, while the journal fills a bound in ≈50 s at 300 payments/s.
    /// </summary>
    public long SnapshotWriteBytesPerSecond { get; set; } = 32L * 1024 * 1024;
    public const long MaxSnapshotWriteBytesPerSecond = 4L * 1024 * 1024 * 1024;
    /// <summary>Payments and events older than this are evicted (unless they can still change). Stripe keeps events 30 days.</summary>
    public int RetentionDays { get; set; } = 30;
    /// <summary>
    /// How far behind now the balance reports' data ends (report type data_available_end): Stripe's lags by hours, so a
    /// client that reports a recent window must read its tail another way. 0: up to the current second.
    /// </summary>
    public int ReportDataLagSeconds { get; set; }
    /// <summary>Payment intents kept (with their charges, refunds, balance transactions); the oldest that can no longer change are evicted first.</summary>
    public int MaxStoredPaymentIntents { get; set; } = 50_000;
    public const int MaxMaxStoredPaymentIntents = 10_000_000;
    /// <summary>
    /// Stored idempotent answers (≈2.4 KB each) kept; past it the oldest are forgotten before Stripe's 24 h. A retry
    /// under a forgotten key runs again, as one past 24 h would at Stripe.
    /// </summary>
    public int MaxStoredIdempotencyKeys { get; set; } = 50_000;
    public const int MaxMaxStoredIdempotencyKeys = 2_000_000;
    /// <summary>An uncaptured (manual capture) authorization expires this many days after it was made (Stripe: 7 for most cards).</summary>
    public int AuthorizationValidityDays { get; set; } = 7;
    /// <summary>Refunds of pm_card_pendingRefund / pm_card_refundFail settle (succeed / fail) this long after creation ("some time later" at Stripe).</summary>
    public int AsyncRefundDelaySeconds { get; set; } = 30;
    /// <summary>How often the sandbox looks for objects due to change on their own (async refunds, expiring authorizations).</summary>
    public int DueChangesTickMs { get; set; } = 1_000;
    /// <summary>Most such changes made under one hold of the store lock (the rest wait for the next round).</summary>
    public int MaxDueChangesPerTick { get; set; } = 1_000;

    /// <summary>
    /// Requests per second (per account: pspsim is one) past which /v1 answers Stripe's 429 rate_limit; 0 = off.
    /// Stripe's sandbox allows 25 (docs.stripe.com/rate-limits).
    /// </summary>
    public int RateLimitPerSecond { get; set; }
    public const int MaxRateLimitPerSecond = 100_000;
    /// <summary>Retry-After (whole seconds) on every 429 pspsim answers: its rate limit and the rate_limit / lock_timeout faults.</summary>
    public int RetryAfterSeconds { get; set; } = 1;
    public const int MaxRetryAfterSeconds = 60;

    /// <summary>
    /// How long after a PaymentIntent's creation or change a search sees it (Stripe: "under normal operating conditions,
    /// data is searchable in under 1 minute"; here 1 s by default so tests stay fast). 0 = at once.
    /// </summary>
    public int SearchLagMs { get; set; } = 1_000;
    public const int MaxSearchLagMs = 600_000;

    /// <summary>
    /// Overrides <see cref="AuthorizationValidityDays"/> when set (e.g. "00:00:05" so a test sees an authorization expire
    /// in seconds): how long an uncaptured authorization lives before pspsim cancels its intent. Whole seconds, 1 s..31 days.
    /// </summary>
    public TimeSpan? AuthorizationTtl { get; set; }
    public const long MaxAuthorizationTtlSeconds = 31L * 86_400;
    /// <summary>The authorization lifetime in force, in whole seconds (capture_before = authorized at + this).</summary>
    public long AuthorizationValiditySeconds => AuthorizationTtl is { } ttl ? (long)ttl.TotalSeconds : AuthorizationValidityDays * 86_400L;
    /// <summary>
    /// pm_card_async_success / pm_card_async_declined stay processing this long, then succeed or are declined (rounded up to
    /// whole sim-clock seconds, checked every <see cref="DueChangesTickMs"/>).
    /// </summary>
    public int AsyncDelayMs { get; set; } = 2_000;
    public const int MaxAsyncDelayMs = 86_400_000;

    // Webhook delivery (Webhooks/WebhookDelivery.cs): every bound of the background queue in one place.
    /// <summary>Multiplies every wait of the retry schedule (1 = Stripe-like hours; 0.001 turns 1 min into 60 ms for tests).</summary>
    public double WebhookRetryScale { get; set; } = 1;
    /// <summary>
    /// How long after its event the first attempt of a delivery goes out. Stripe sends webhooks asynchronously, typically
    /// within a few seconds, not before the API call that caused them has answered; 0 sends at once (the tests' fixture
    /// does: the webhook then races the caller's own handling of the answer, the harder case).
    /// </summary>
    public int WebhookFirstAttemptDelayMs { get; set; } = 500;
    public const int MaxWebhookFirstAttemptDelayMs = 60_000;
    /// <summary>Attempts per (event, endpoint), the first included; then the delivery is given up and recorded.</summary>
    public int WebhookMaxAttempts { get; set; } = 12;
    public const int MaxWebhookMaxAttempts = 50;
    /// <summary>An attempt without an answer within this long fails (and is retried like a non-2xx).</summary>
    public int WebhookTimeoutMs { get; set; } = 10_000;
    /// <summary>Attempts running at once (one HTTP request each).</summary>
    public int WebhookMaxInFlight { get; set; } = 8;
    /// <summary>Deliveries waiting (queued, scheduled for a retry or held by a fault) plus running; past it a new one is skipped and recorded.</summary>
    public int WebhookMaxPendingDeliveries { get; set; } = 10_000;
    /// <summary>Attempts kept in memory for GET /_sim/webhooks/attempts (oldest dropped first).</summary>
    public int WebhookMaxAttemptsKept { get; set; } = 10_000;
    /// <summary>After roll_secret without an expiration, the old secret keeps signing this long (sim clock).</summary>
    public int WebhookSecretOverlapSeconds { get; set; } = 86_400;
    /// <summary>Longest roll_secret overlap a request may ask for.</summary>
    public const int MaxWebhookSecretOverlapSeconds = 7 * 86_400;

    /// <summary>Each broken setting, named (checked at start: pspsim refuses to run on a bad fee or FX table).</summary>
    public IEnumerable<string> Problems()
    {
        if (!Currencies.IsKnown(SettlementCurrency)) yield return "PspSim:SettlementCurrency must be a Stripe currency code (lower case)";
        foreach (var (currency, rate) in ExchangeRates)
        {
            if (!Currencies.IsKnown(currency)) yield return $"PspSim:ExchangeRates:{currency}: not a Stripe currency code (lower case)";
            if (Settlement.ParseRate(rate) is null)
                yield return $"PspSim:ExchangeRates:{currency} must be a positive decimal string of at most {Settlement.MaxRateDigits} digits";
        }
        foreach (var (key, fee) in Fees.Select(f => ($"PspSim:Fees:{f.Key}:", f.Value))
                     .Append(("PspSim:Fee", new FeeSchedule { PercentBps = FeePercentBps, FixedMinor = FeeFixedMinor })))
        {
            if (fee.PercentBps is < 0 or > 10_000) yield return $"{key}PercentBps must be within [0, 10000]";
            if (fee.FixedMinor is < 0 or > 100_000_000) yield return $"{key}FixedMinor must be within [0, 100000000]";
        }
        foreach (var currency in Fees.Keys.Where(c => !Currencies.IsKnown(c)))
            yield return $"PspSim:Fees:{currency}: not a Stripe currency code (lower case)";
        if (RateLimitPerSecond is < 0 or > MaxRateLimitPerSecond) yield return $"PspSim:RateLimitPerSecond must be within [0, {MaxRateLimitPerSecond}]";
        if (RetryAfterSeconds is < 0 or > MaxRetryAfterSeconds) yield return $"PspSim:RetryAfterSeconds must be within [0, {MaxRetryAfterSeconds}]";
        if (SearchLagMs is < 0 or > MaxSearchLagMs) yield return $"PspSim:SearchLagMs must be within [0, {MaxSearchLagMs}]";
        if (MaxJournalBytes is < MinJournalBytes or > MaxMaxJournalBytes) yield return $"PspSim:MaxJournalBytes must be within [{MinJournalBytes}, {MaxMaxJournalBytes}]";
        if (SnapshotWriteBytesPerSecond is < 0 or > MaxSnapshotWriteBytesPerSecond) yield return $"PspSim:SnapshotWriteBytesPerSecond must be within [0, {MaxSnapshotWriteBytesPerSecond}]";
        if (RetentionDays is < 1 or > 3_650) yield return "PspSim:RetentionDays must be 1..3650";
        if (ReportDataLagSeconds is < 0 or > 7 * 86_400) yield return "PspSim:ReportDataLagSeconds must be 0..604800";
        if (AvailableAfterDays is < 0 or > 30) yield return "PspSim:AvailableAfterDays must be 0..30";
        if (PayoutIntervalSeconds is < 60 or > 30 * 86_400) yield return "PspSim:PayoutIntervalSeconds must be 60..2592000";
        if (MaxStoredPaymentIntents is < 1 or > MaxMaxStoredPaymentIntents) yield return $"PspSim:MaxStoredPaymentIntents must be within [1, {MaxMaxStoredPaymentIntents}]";
        if (MaxStoredIdempotencyKeys is < 1 or > MaxMaxStoredIdempotencyKeys) yield return $"PspSim:MaxStoredIdempotencyKeys must be within [1, {MaxMaxStoredIdempotencyKeys}]";
        if (AuthorizationValidityDays is < 1 or > 31) yield return "PspSim:AuthorizationValidityDays must be 1..31";
        if (AuthorizationTtl is { } ttl && (ttl.TotalSeconds < 1 || ttl.TotalSeconds > MaxAuthorizationTtlSeconds || ttl.Ticks % TimeSpan.TicksPerSecond != 0))
            yield return "PspSim:AuthorizationTtl must be whole seconds from 00:00:01 to 31.00:00:00";
        if (AsyncDelayMs is < 0 or > MaxAsyncDelayMs) yield return $"PspSim:AsyncDelayMs must be within [0, {MaxAsyncDelayMs}]";
        if (!(WebhookRetryScale is >= 0 and <= 1)) yield return "PspSim:WebhookRetryScale must be within [0, 1]";
        if (WebhookFirstAttemptDelayMs is < 0 or > MaxWebhookFirstAttemptDelayMs) yield return $"PspSim:WebhookFirstAttemptDelayMs must be within [0, {MaxWebhookFirstAttemptDelayMs}]";
        if (WebhookMaxAttempts is < 1 or > MaxWebhookMaxAttempts) yield return $"PspSim:WebhookMaxAttempts must be within [1, {MaxWebhookMaxAttempts}]";
        if (WebhookTimeoutMs is < 100 or > 60_000) yield return "PspSim:WebhookTimeoutMs must be within [100, 60000]";
        if (WebhookMaxInFlight is < 1 or > 256) yield return "PspSim:WebhookMaxInFlight must be within [1, 256]";
        if (WebhookMaxPendingDeliveries is < 1 or > 1_000_000) yield return "PspSim:WebhookMaxPendingDeliveries must be within [1, 1000000]";
        if (WebhookMaxAttemptsKept is < 1 or > 1_000_000) yield return "PspSim:WebhookMaxAttemptsKept must be within [1, 1000000]";
        if (WebhookSecretOverlapSeconds is < 0 or > MaxWebhookSecretOverlapSeconds)
            yield return $"PspSim:WebhookSecretOverlapSeconds must be within [0, {MaxWebhookSecretOverlapSeconds}]";
        if (AsyncRefundDelaySeconds is < 0 or > 30 * 86_400) yield return "PspSim:AsyncRefundDelaySeconds must be 0..2592000";
        if (DueChangesTickMs is < 10 or > 60_000) yield return "PspSim:DueChangesTickMs must be 10..60000";
        if (MaxDueChangesPerTick is < 1 or > 100_000) yield return "PspSim:MaxDueChangesPerTick must be 1..100000";
    }
}

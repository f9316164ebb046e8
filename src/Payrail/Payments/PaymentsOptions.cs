namespace Payrail.Payments;

/// <summary>Section <c>Payments</c>.</summary>
public sealed class PaymentsOptions
{
    public const string SectionName = "Payments";

    /// <summary>How long a create request waits for the PSP before answering 202 with the payment still processing.</summary>
    public int SyncBudgetMs { get; set; } = 5_000;

    /// <summary>Conditional updates that lose a race are re-read and re-decided at most this many times.</summary>
    public int MaxVersionRetries { get; set; } = 3;

    /// <summary>
    /// Transaction 2 rolled back whole by a deadlock (40P01) or a serialization failure (40001) is sent again at most
    /// this many times; then the request fails as before (the key stays processing, a retry after the lease resumes).
    /// </summary>
    public int MaxTransientRetries { get; set; } = 3;

    /// <summary>
    /// Wait before the first such retry; each next one waits twice as long, plus a random jitter of up to this value so
    /// two deadlocked transactions do not meet again. At the validated bounds (5 retries, 100 ms) all waits total at most 3.6 s.
    /// </summary>
    public int TransientRetryBackoffMs { get; set; } = 10;

    /// <summary>
    /// PSP idempotency keys one payment's create may use (the payment id, then <c>&lt;id&gt;:2</c>, …): a new key is
    /// taken only after the previous one answered 5xx and a search found nothing (<see cref="PspOutcomeResolution"/>).
    /// Past it the payment stays processing for a person to look at. At most 10 (the CHECK of migration 0012).
    /// </summary>
    public int MaxPspAttempts { get; set; } = 3;

    /// <summary>
    /// An authorization not captured within this long (from when it was recorded) is voided at the PSP by the sweeper
    /// and its hold released in the ledger. Stripe holds most card authorizations 7 days, then cancels them itself.
    /// </summary>
    public TimeSpan AuthorizationExpiry { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>
/// Points where tests abandon the flow to simulate a crash (the process dying between two steps).
/// Production leaves them empty.
/// </summary>
public sealed class PaymentCrashPoints
{
    /// <summary>Runs after transaction 1 committed and before the PSP is called.</summary>
    public Func<Guid, Task>? AfterIntentRecorded { get; set; }

    /// <summary>Runs after the PSP answered the create and before transaction 2 records it (a webhook may race it here).</summary>
    public Func<Guid, Task>? BeforeOutcomeRecorded { get; set; }

    /// <summary>Runs after a capture or void claimed the payment's operation and before the PSP is called.</summary>
    public Func<Guid, Task>? AfterOperationClaimed { get; set; }

    /// <summary>Runs after the PSP answered a capture or void and before its outcome is recorded.</summary>
    public Func<Guid, Task>? BeforeOperationRecorded { get; set; }
}

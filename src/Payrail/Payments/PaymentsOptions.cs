namespace Payrail.Payments;

/// <summary>Section <c>Payments</c>.</summary>
public sealed class PaymentsOptions
{
    public const string SectionName = "Payments";

    /// <summary>How long a create request waits for the PSP before answering 202 with the payment still processing.</summary>
    public int SyncBudgetMs { get; set; } = 5_000;

    /// <summary>Conditional updates that lose a race are re-read and re-decided at most this many times.</summary>
    public int MaxVersionRetries { get; set; } = 3;
}

/// <summary>
/// Points where tests abandon the flow to simulate a crash (the process dying between two steps).
/// Production leaves them empty.
/// </summary>
public sealed class PaymentCrashPoints
{
    /// <summary>Runs after transaction 1 committed and before the PSP is called.</summary>
    public Func<Guid, Task>? AfterIntentRecorded { get; set; }
}

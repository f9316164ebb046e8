namespace Payrail.Refunds;

/// <summary>Section <c>Refunds</c>: every bound of the refund flow and of the sweeper's refund checks.</summary>
public sealed class RefundsOptions
{
    public const string SectionName = "Refunds";

    /// <summary>How long a refund request waits for the PSP before answering 202 with the refund pending (its outcome unknown).</summary>
    public int SyncBudgetMs { get; set; } = 5_000;

    /// <summary>A refund whose row moved under us (a webhook, the sweeper) is re-read and re-decided at most this many times.</summary>
    public int MaxRereads { get; set; } = 3;

    /// <summary>Refunds listed per payment (<c>GET /v1/payments/{id}/refunds</c>) and looked at in one PSP list when resolving one.</summary>
    public int MaxRefundsPerPayment { get; set; } = 100;

    /// <summary>The sweeper asks the PSP about a refund still pending this long after it was created.</summary>
    public int SweepAfterMs { get; set; } = 60_000;

    /// <summary>Pending refunds the sweeper checks per sweep.</summary>
    public int SweepBatchSize { get; set; } = 50;

    /// <summary>Wait before the sweeper asks about the same pending refund again (PSP reads stay bounded per refund).</summary>
    public int SweepRecheckMs { get; set; } = 60_000;

    /// <summary>Each PSP read of the sweeper is bounded by this.</summary>
    public int PspReadTimeoutMs { get; set; } = 5_000;

    public IEnumerable<string> Problems()
    {
        if (SyncBudgetMs is < 1 or > 60_000) yield return "Refunds:SyncBudgetMs must be within [1, 60000]";
        if (MaxRereads is < 0 or > 10) yield return "Refunds:MaxRereads must be within [0, 10]";
        if (MaxRefundsPerPayment is < 1 or > 100) yield return "Refunds:MaxRefundsPerPayment must be within [1, 100]";
        if (SweepAfterMs is < 0 or > 86_400_000) yield return "Refunds:SweepAfterMs must be within [0, 86400000]";
        if (SweepBatchSize is < 1 or > 1_000) yield return "Refunds:SweepBatchSize must be within [1, 1000]";
        if (SweepRecheckMs is < 0 or > 86_400_000) yield return "Refunds:SweepRecheckMs must be within [0, 86400000]";
        if (PspReadTimeoutMs is < 1 or > 60_000) yield return "Refunds:PspReadTimeoutMs must be within [1, 60000]";
    }
}

using PspSim.Storage;

namespace PspSim.BalanceTransactions;

public sealed class BalanceTransactionState : IStored
{
    public required string Id { get; init; }
    public required long Created { get; init; }
    public required long Amount { get; init; }
    /// <summary>Settable only by the control plane's fee fault (/_sim/balance_transactions/{id}/fee): Stripe never changes it.</summary>
    public required long Fee { get; set; }
    public required long Net { get; set; }
    /// <summary>The settlement currency, or the charge's own when it settles unconverted.</summary>
    public required string Currency { get; init; }
    /// <summary>Exact decimal string (from the FX table) when the amount was converted; null otherwise.</summary>
    public string? ExchangeRate { get; init; }
    public required string Source { get; init; }
    /// <summary>"charge" or "refund".</summary>
    public required string Type { get; init; }
    public required string ReportingCategory { get; init; }
    public required long AvailableOn { get; init; }
    public string? Description { get; init; }
    /// <summary>The automatic payout that paid it out (Payouts/AutomaticPayouts), once paid; not a field of Stripe's object.</summary>
    public string? Payout { get; set; }
}

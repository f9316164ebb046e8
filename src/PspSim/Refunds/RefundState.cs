using PspSim.Storage;

namespace PspSim.Refunds;

public sealed class RefundState : IStored
{
    public required string Id { get; init; }
    public required long Created { get; init; }
    public required long Amount { get; init; }
    public required string Currency { get; init; }
    public required string Charge { get; init; }
    public required string PaymentIntent { get; init; }
    public required string Status { get; set; }
    public string? Reason { get; init; }
    public string? BalanceTransaction { get; set; }
    /// <summary>Why a failed (or canceled) refund gave the money back: lost_or_stolen_card, expired_or_canceled_card, unknown, merchant_request.</summary>
    public string? FailureReason { get; set; }
    /// <summary>The balance transaction that returned a failed or canceled refund's amount (reporting_category refund_failure).</summary>
    public string? FailureBalanceTransaction { get; set; }
    /// <summary>Sim clock second at which the refund changes on its own (pending → succeeded, succeeded → failed); null when final.</summary>
    public long? SettleAt { get; set; }
    /// <summary>What it becomes at <see cref="SettleAt"/>: "succeeded" or "failed".</summary>
    public string? SettleOutcome { get; set; }
    public Dictionary<string, string> Metadata { get; set; } = [];
}

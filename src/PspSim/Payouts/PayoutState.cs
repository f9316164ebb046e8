using PspSim.Storage;

namespace PspSim.Payouts;

/// <summary>An automatic payout of the account's available balance in one currency to its bank account (paid at once).</summary>
public sealed class PayoutState : IStored
{
    public required string Id { get; init; }
    public required long Created { get; init; }
    public required long Amount { get; init; }
    public required string Currency { get; init; }
    public required long ArrivalDate { get; init; }
    /// <summary>The payout's own balance transaction (type payout, −amount).</summary>
    public required string BalanceTransaction { get; init; }
}

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
    public Dictionary<string, string> Metadata { get; set; } = [];
}

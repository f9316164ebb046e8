namespace Payrail.Domain.Refunds;

/// <summary>Where a refund stands: pending, then succeeded, failed or canceled (Stripe's refund statuses for cards).</summary>
public enum RefundStatus
{
    Pending,
    Succeeded,
    Failed,
    Canceled,
}

/// <summary>The lowercase names used on the wire (API bodies, events, database), Stripe's own.</summary>
public static class RefundStatusWire
{
    private static readonly IReadOnlyDictionary<RefundStatus, string> ToWireMap = new Dictionary<RefundStatus, string>
    {
        [RefundStatus.Pending] = "pending",
        [RefundStatus.Succeeded] = "succeeded",
        [RefundStatus.Failed] = "failed",
        [RefundStatus.Canceled] = "canceled",
    };

    private static readonly IReadOnlyDictionary<string, RefundStatus> FromWireMap =
        ToWireMap.ToDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);

    public static string ToWire(this RefundStatus status) =>
        ToWireMap.TryGetValue(status, out var wire)
            ? wire
            : throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown refund status.");

    public static bool TryParseWire(string? wire, out RefundStatus status)
    {
        status = default;
        return wire is not null && FromWireMap.TryGetValue(wire, out status);
    }

    /// <summary>Failed and canceled never move again; succeeded may still fail (Stripe's refund_failure).</summary>
    public static bool IsFinal(this RefundStatus status) => status is RefundStatus.Failed or RefundStatus.Canceled;
}

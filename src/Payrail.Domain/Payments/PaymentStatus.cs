namespace Payrail.Domain.Payments;

/// <summary>Where a payment stands (DESIGN.md "State machine").</summary>
public enum PaymentStatus
{
    Initiated,
    Processing,
    Authorized,
    Captured,
    Settled,
    Failed,
    Voided,
    Refunded,
}

/// <summary>The lowercase names used on the wire (API bodies, events, database).</summary>
public static class PaymentStatusWire
{
    private static readonly IReadOnlyDictionary<PaymentStatus, string> ToWireMap = new Dictionary<PaymentStatus, string>
    {
        [PaymentStatus.Initiated] = "initiated",
        [PaymentStatus.Processing] = "processing",
        [PaymentStatus.Authorized] = "authorized",
        [PaymentStatus.Captured] = "captured",
        [PaymentStatus.Settled] = "settled",
        [PaymentStatus.Failed] = "failed",
        [PaymentStatus.Voided] = "voided",
        [PaymentStatus.Refunded] = "refunded",
    };

    // Exact (ordinal) match: the wire format is ours, so "Captured" or " captured" is a bug upstream.
    private static readonly IReadOnlyDictionary<string, PaymentStatus> FromWireMap =
        ToWireMap.ToDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);

    public static string ToWire(this PaymentStatus status) =>
        ToWireMap.TryGetValue(status, out var wire)
            ? wire
            : throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown payment status.");

    public static bool TryParseWire(string? wire, out PaymentStatus status)
    {
        status = default;
        return wire is not null && FromWireMap.TryGetValue(wire, out status);
    }

    /// <summary>FAILED, VOIDED and REFUNDED never move again.</summary>
    public static bool IsTerminal(this PaymentStatus status) =>
        status is PaymentStatus.Failed or PaymentStatus.Voided or PaymentStatus.Refunded;
}

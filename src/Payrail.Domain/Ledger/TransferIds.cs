using System.Security.Cryptography;
using System.Text;

namespace Payrail.Domain.Ledger;

/// <summary>
/// Deterministic transfer ids: the same (payment, step) always gives the same id, so a retried
/// request, a resumed crash or a replayed webhook hits "exists" instead of posting twice.
/// </summary>
public static class TransferIds
{
    /// <summary>UUID version 5 (RFC 9562 §5.5, SHA-1 name-based) with the payment id as namespace.</summary>
    public static Guid For(Guid paymentId, string step)
    {
        ArgumentException.ThrowIfNullOrEmpty(step);
        var namespaceBytes = paymentId.ToByteArray(bigEndian: true);
        var nameBytes = Encoding.UTF8.GetBytes(step);
        var input = new byte[namespaceBytes.Length + nameBytes.Length];
        namespaceBytes.CopyTo(input, 0);
        nameBytes.CopyTo(input, namespaceBytes.Length);

        // SHA-1 is used here as the RFC names it, for spreading ids, not for security.
        var hash = SHA1.HashData(input);
        var bytes = hash.AsSpan(0, 16).ToArray();
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x50); // version 5
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC variant
        return new Guid(bytes, bigEndian: true);
    }
}

/// <summary>The step names one payment's transfers are derived from.</summary>
public static class TransferSteps
{
    public const string Authorize = "authorize";
    public const string Capture = "capture";
    public const string Void = "void";
    public const string Purchase = "purchase";
    public const string SettleFxOut = "settle:fx-out";
    public const string SettleFxIn = "settle:fx-in";
    public const string SettleFee = "settle:fee";
    public const string SettleCash = "settle:cash";

    /// <summary>A refund's hold (pending merchant → buyer), written when the refund is reserved, before the PSP is asked.</summary>
    public static string RefundHold(Guid refundId) => $"refund_hold:{refundId:D}";

    /// <summary>The hold posted when the refund succeeded (the id of the refund's posting, as before holds existed).</summary>
    public static string Refund(Guid refundId) => $"refund:{refundId:D}";

    /// <summary>The hold voided when the refund failed or was canceled before it succeeded.</summary>
    public static string RefundRelease(Guid refundId) => $"refund_release:{refundId:D}";

    public static string RefundFailure(Guid refundId) => $"refund_failure:{refundId:D}";

    /// <summary>
    /// A strict merchant's refund of a payment settled in another currency: the upper-bound estimate it holds in the
    /// settlement currency (pending merchant → fx), and that hold's void (when the refund fails, or when the PSP's booked
    /// amount is converted). One void id for both, so whichever comes second is the same transfer and is skipped.
    /// </summary>
    public static string RefundFxEstimate(Guid refundId) => $"refund_fx_estimate:{refundId:D}";

    public static string RefundFxEstimateRelease(Guid refundId) => $"refund_fx_estimate_release:{refundId:D}";

    /// <summary>
    /// The conversion of one refund-side balance transaction (a refund, or a refund's failure) of a payment the PSP settles
    /// in another currency, credit leg and debit leg; named by the PSP's balance transaction id, unique per line.
    /// </summary>
    public static string RefundFxCredit(string balanceTransaction) => $"settle:refund-fx-credit:{balanceTransaction}";

    public static string RefundFxDebit(string balanceTransaction) => $"settle:refund-fx-debit:{balanceTransaction}";
}

using Payrail.Psp;

namespace Payrail.Payments;

/// <summary>
/// Compares a PSP's answer with the payment it is meant to be about, before it moves anything in our books.
/// A mismatch (a PSP bug, a mix-up of references, something tampering in between) is never recorded: the
/// payment stays processing, where the sweeper and reconciliation find it. Recorded, a captured amount above
/// the payment's would be refused by the ledger on every retry (a permanent 500), and a wrong currency or
/// amount would book money that did not move.
/// </summary>
public static class PspAnswerCheck
{
    public const string Reference = "reference";
    public const string Currency = "currency";
    public const string Amount = "amount";
    public const string AmountCaptured = "amount_captured";
    public const string AmountCapturable = "amount_capturable";

    /// <summary>The first field of the answer that disagrees with the payment (one of the constants above), or null.</summary>
    public static string? Mismatch(PaymentRecord payment, PspPayment answer)
    {
        if (string.IsNullOrWhiteSpace(answer.PspReference)) return Reference;
        // Once recorded, the PSP's reference is the payment's identity there: an answer about another one is not ours.
        if (payment.PspReference is { } recorded && !string.Equals(recorded, answer.PspReference, StringComparison.Ordinal)) return Reference;
        if (!string.Equals(answer.CurrencyCode, payment.CurrencyCode, StringComparison.OrdinalIgnoreCase)) return Currency;
        if (answer.AmountMinor != payment.AmountMinor) return Amount;
        if (answer.AmountCapturedMinor < 0 || answer.AmountCapturedMinor > payment.AmountMinor) return AmountCaptured;
        if (answer.AmountCapturableMinor < 0 || answer.AmountCapturableMinor > payment.AmountMinor) return AmountCapturable;
        return null;
    }
}

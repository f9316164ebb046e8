using Payrail.Domain.Ledger;
using Payrail.Domain.Money;
using Payrail.Payments;
using Payrail.Psp;

namespace Payrail.Settlement;

/// <summary>
/// The refund-side balance transactions of a payment the PSP settles in another currency, read as what the ledger
/// converts (<see cref="LedgerPostingRules.SettleWithRefunds"/>, <see cref="LedgerPostingRules.ConvertRefund"/>): a
/// <c>refund</c> line (negative: the PSP took the refund from its settlement-currency balance) and a <c>refund_failure</c>
/// line (positive: it came back), each with the refund's own amount in the payment's currency (the line's expanded source).
/// Pure: the run decides with it which lines convert now.
/// </summary>
public static class RefundLineBookings
{
    public const string RefundType = "refund";
    public const string FailureType = "refund_failure";

    public static bool IsRefundSide(PspSettlementLine line) => line.Type is RefundType or FailureType && line.PspReference is not null;

    /// <summary>
    /// The bookings of <paramref name="lines"/> (one payment's) that convert now, oldest first, or why they cannot. A line
    /// converts once the books hold its refund: a refund of ours (<paramref name="ourRefundStatuses"/>, by the PSP's refund
    /// id; another's is not in the books at all, and reconciliation reports it), and for a failure only once our refund is
    /// failed or canceled (until then our books still show it refunded: converting the money back first would draw the
    /// merchant's balance in the payment's currency below zero). A line left out now converts in a later run.
    /// </summary>
    public static (IReadOnlyList<RefundBooking> Bookings, string? Refusal) For(PaymentRecord payment, Currency settlement,
        IEnumerable<PspSettlementLine> lines, IReadOnlyDictionary<string, string> ourRefundStatuses)
    {
        var bookings = new List<RefundBooking>();
        foreach (var line in lines.OrderBy(l => l.CreatedAt).ThenBy(l => l.Id, StringComparer.Ordinal))
        {
            if (line.SourceId is null || !ourRefundStatuses.TryGetValue(line.SourceId, out var status)) continue;
            var failure = line.Type == FailureType;
            if (failure && status is not ("failed" or "canceled")) continue;
            if (!string.Equals(line.CurrencyCode, settlement.Code, StringComparison.Ordinal))
                return ([], $"refund line {line.Id} in {line.CurrencyCode}, its charge in {settlement.Code}");
            if (!string.Equals(line.SourceCurrencyCode, payment.CurrencyCode, StringComparison.Ordinal) || line.SourceAmountMinor is not > 0)
                return ([], $"refund line {line.Id} without the refund's own amount in {payment.CurrencyCode}");
            if (failure ? line.AmountMinor <= 0 : line.AmountMinor >= 0)
                return ([], $"refund line {line.Id} of type {line.Type} with amount {line.AmountMinor}");
            bookings.Add(new RefundBooking(line.Id, failure, line.SourceAmountMinor.Value, settlement, Math.Abs(line.AmountMinor)));
        }
        return (bookings, null);
    }
}

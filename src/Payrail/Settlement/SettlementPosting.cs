using Npgsql;
using Payrail.Domain.Ledger;
using Payrail.Domain.Payments;
using Payrail.Ledger;
using Payrail.Payments;
using Payrail.Psp;

namespace Payrail.Settlement;

/// <summary>
/// What commits with a payment's move to SETTLED, in its batch: the settlement's transfers (fee, PSP → cash, and the
/// conversion when the PSP settles in another currency; <see cref="LedgerPostingRules.Settle"/>) and the
/// payment_settlements row. Added only to a batch that moves the payment to SETTLED (a payment already settled, by a
/// re-run or a concurrent run, commits nothing of it), or to a batch that records it against a payment refunded in full
/// before settlement, which stays REFUNDED (<see cref="RefundedBeforeSettlement"/>). Such a payment whose refund then came
/// back (refund_failure) is CAPTURED again with its settlement recorded: moved to SETTLED, it adds nothing (its row is
/// kept, its transfers are the same ids with the same fields, which the ledger skips).
/// </summary>
public sealed class SettlementPosting(LedgerWrites ledger, string provider, PspSettlementLine line, SettlementBooking booked,
    IReadOnlyList<RefundBooking> refunds, DateOnly runDate, DateTimeOffset settledAt) : ITransitionCommand
{
    public void AddTo(NpgsqlBatch batch, PaymentRecord payment) =>
        throw new InvalidOperationException("A settlement commits only with the change that settles the payment.");

    /// <summary>Refunded in full while captured: its settlement posts the fee and the net without a state change.</summary>
    public static bool RefundedBeforeSettlement(PaymentRecord payment) =>
        payment.Status == PaymentStatus.Refunded && payment.RefundedFrom == PaymentStatus.Captured;

    /// <summary>The settlement's transfers for <paramref name="payment"/>, in the order they post.</summary>
    public IReadOnlyList<LedgerStep> Steps(PaymentRecord payment) =>
        new LedgerPostingRules(payment.Id, payment.BuyerId, payment.MerchantId, Domain.Money.Currency.FromCode(payment.CurrencyCode))
            .SettleWithRefunds(provider, payment.AmountCapturedMinor, booked, refunds);

    public void AddTo(NpgsqlBatch batch, PaymentRecord payment, PaymentChange? change)
    {
        var settles = change is null ? RefundedBeforeSettlement(payment) : change.Steps.Any(s => s.To == PaymentStatus.Settled);
        if (!settles) return;
        var record = new NpgsqlBatchCommand("""
            INSERT INTO payment_settlements (payment_id, psp, balance_transaction, currency, amount_minor, fee_minor, net_minor,
                                             available_on, run_date, settled_at)
            VALUES (@payment_id, @psp, @balance_transaction, @currency, @amount_minor, @fee_minor, @net_minor,
                    @available_on, @run_date, @settled_at)
            ON CONFLICT (payment_id) DO NOTHING
            """);
        var p = record.Parameters;
        p.AddWithValue("payment_id", payment.Id);
        p.AddWithValue("psp", provider);
        p.AddWithValue("balance_transaction", line.Id);
        p.AddWithValue("currency", booked.Currency.Code);
        p.AddWithValue("amount_minor", booked.AmountMinor);
        p.AddWithValue("fee_minor", booked.FeeMinor);
        p.AddWithValue("net_minor", booked.NetMinor);
        p.AddWithValue("available_on", line.AvailableOn);
        p.AddWithValue("run_date", runDate);
        p.AddWithValue("settled_at", settledAt);
        batch.BatchCommands.Add(record);

        ledger.AddTo(batch, payment.Id, Steps(payment));
    }
}

using Npgsql;
using Payrail.Domain.Ledger;
using Payrail.Ledger;
using Payrail.Payments;

namespace Payrail.Settlement;

/// <summary>
/// The conversions of refund-side balance transactions the PSP booked after the payment's settlement in another currency
/// (a refund after settlement, a refund's failure; <see cref="LedgerPostingRules.ConvertRefund"/>), committed against the
/// payment as it stands (<see cref="PaymentTransitions.RecordAsync"/>: version-checked, no state change). Every credit
/// leg first, then every debit leg, so that a merchant whose payable may not go negative is never refused by the order
/// of one run's lines. Transfer ids derive from the payment and the balance transaction: a re-run posts nothing new.
/// </summary>
/// A backed refund's line (<paramref name="backed"/>, by balance transaction id) converts its settlement-currency side only
/// (<see cref="LedgerPostingRules.ConvertBackedRefund"/>), its estimate voided just before its booked amount is debited.
public sealed class RefundConversionPosting(LedgerWrites ledger, IReadOnlyList<RefundBooking> refunds,
    IReadOnlyDictionary<string, BackedRefund>? backed = null) : ITransitionCommand
{
    public void AddTo(NpgsqlBatch batch, PaymentRecord payment) =>
        throw new InvalidOperationException("Refund conversions commit against the payment as it stands.");

    public void AddTo(NpgsqlBatch batch, PaymentRecord payment, PaymentChange? change)
    {
        if (change is not null) throw new InvalidOperationException("Refund conversions commit against the payment as it stands.");
        var rules = new LedgerPostingRules(payment.Id, payment.BuyerId, payment.MerchantId, Domain.Money.Currency.FromCode(payment.CurrencyCode));
        var entries = refunds.Where(r => backed?.ContainsKey(r.BalanceTransaction) != true).Select(rules.ConvertRefund).ToList();
        var backedSteps = refunds.Where(r => backed?.ContainsKey(r.BalanceTransaction) == true)
            .Select(r => rules.ConvertBackedRefund(r, backed![r.BalanceTransaction].RefundId, backed[r.BalanceTransaction].Backing)).ToList();
        // Credits first (a backed failure is one), then each void of an estimate, then the debits.
        var steps = entries.Select(e => new LedgerStep(e[0].Id, e[0]))
            .Concat(backedSteps.Where(b => b.Count == 1).Select(b => b[0]))
            .Concat(backedSteps.Where(b => b.Count == 2).Select(b => b[0]))
            .Concat(entries.Select(e => new LedgerStep(e[0].Id, e[1])))
            .Concat(backedSteps.Where(b => b.Count == 2).Select(b => b[1])).ToList();
        ledger.AddTo(batch, payment.Id, steps);
    }
}

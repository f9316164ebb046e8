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
public sealed class RefundConversionPosting(LedgerWrites ledger, IReadOnlyList<RefundBooking> refunds) : ITransitionCommand
{
    public void AddTo(NpgsqlBatch batch, PaymentRecord payment) =>
        throw new InvalidOperationException("Refund conversions commit against the payment as it stands.");

    public void AddTo(NpgsqlBatch batch, PaymentRecord payment, PaymentChange? change)
    {
        if (change is not null) throw new InvalidOperationException("Refund conversions commit against the payment as it stands.");
        var rules = new LedgerPostingRules(payment.Id, payment.BuyerId, payment.MerchantId, Domain.Money.Currency.FromCode(payment.CurrencyCode));
        var entries = refunds.Select(rules.ConvertRefund).ToList();
        var steps = entries.Select(e => new LedgerStep(e[0].Id, e[0])).Concat(entries.Select(e => new LedgerStep(e[0].Id, e[1]))).ToList();
        ledger.AddTo(batch, payment.Id, steps);
    }
}

using CsCheck;
using Payrail.Domain.Ledger;
using Payrail.Domain.Money;
using Xunit;

namespace Payrail.Tests.Domain;

/// <summary>
/// Random histories of authorize / capture (partial) / void / refund (partial, several) /
/// purchase / replay across payments that share accounts and currencies. The interpreter
/// behaves like the payment service (it only issues what the payment's state allows) and
/// predicts the ledger's answer to each misuse; after every step the books must verify.
/// </summary>
public sealed class LedgerPropertyTests
{
    private enum OpKind { Authorize, Capture, Void, Refund, Purchase, Replay }

    private readonly record struct Op(OpKind Kind, int Slot, long Amount, int Percent, int Replay);

    private static readonly Gen<Op> GenOp = Gen.Select(
        Gen.Int[0, 5], Gen.Int[0, 3], Gen.Long[1, 99_999_999], Gen.Int[1, 130], Gen.Int[0, 10_000],
        (kind, slot, amount, percent, replay) => new Op((OpKind)kind, slot, amount, percent, replay));

    // Slots 0 and 1 share buyer, merchant and currency: the per-payment refund limit is then the
    // rules' job, because the merchant flag only sees the sum of both payments.
    private static readonly (string Buyer, string Merchant, string Currency)[] Slots =
    [
        ("b1", "m1", "USD"), ("b1", "m1", "USD"), ("b2", "m2", "JPY"), ("b1", "m2", "KWD"),
    ];

    private sealed class PaymentModel(LedgerPostingRules rules)
    {
        public LedgerPostingRules Rules { get; } = rules;
        public long Held { get; set; }
        public long Authorized { get; set; }
        public long Captured { get; set; }
        public long Refunded { get; set; }
        public bool Voided { get; set; }
        public bool Purchased { get; set; }
        public bool Started => Authorized > 0 || Purchased;
    }

    [Fact]
    public void Random_payment_histories_keep_every_ledger_invariant()
    {
        GenOp.Array[0, 60].Sample(ops =>
        {
            var book = new LedgerBook();
            var payments = Slots
                .Select(s => new PaymentModel(new LedgerPostingRules(Guid.NewGuid(), s.Buyer, s.Merchant, Currency.FromCode(s.Currency))))
                .ToArray();

            foreach (var op in ops)
            {
                Step(book, payments[op.Slot], op);
                Assert.Empty(book.Verify());
            }

            AssertColumnsMatchModel(book, payments);
            AssertReplayingEverythingChangesNothing(book);
        }, iter: 400);
    }

    private static void Step(LedgerBook book, PaymentModel p, Op op)
    {
        var rules = p.Rules;
        switch (op.Kind)
        {
            case OpKind.Authorize when !p.Started:
                Assert.Equal(TransferResult.Ok, Single(book, rules.Authorize(op.Amount)));
                p.Authorized = p.Held = op.Amount;
                break;
            case OpKind.Authorize when p.Authorized > 0:
                // A retried authorization carries the same id: same amount is a replay, another amount is refused.
                var again = Single(book, rules.Authorize(op.Amount));
                Assert.Equal(op.Amount == p.Authorized ? TransferResult.Exists : TransferResult.ExistsWithDifferentFields, again);
                break;

            case OpKind.Capture when p.Authorized == 0:
                if (!p.Purchased)
                {
                    Assert.Equal(TransferResult.PendingTransferNotFound, Single(book, rules.Capture(rules.AuthorizationId, op.Amount, op.Amount)));
                }

                break;
            case OpKind.Capture when op.Percent > 100:
                Assert.Throws<ArgumentOutOfRangeException>(() => rules.Capture(rules.AuthorizationId, p.Authorized, p.Authorized + 1));
                break;
            case OpKind.Capture:
                var capture = Math.Max(1, p.Authorized * op.Percent / 100);
                var captured = Single(book, rules.Capture(rules.AuthorizationId, p.Authorized, capture));
                if (p.Voided)
                {
                    Assert.Equal(TransferResult.PendingTransferAlreadyVoided, captured);
                }
                else if (p.Captured > 0)
                {
                    Assert.Equal(capture == p.Captured ? TransferResult.Exists : TransferResult.ExistsWithDifferentFields, captured);
                }
                else
                {
                    Assert.Equal(TransferResult.Ok, captured);
                    p.Captured = capture;
                    p.Held = 0;
                }

                break;

            case OpKind.Void when p.Authorized > 0:
                var voided = Single(book, rules.Void(rules.AuthorizationId, p.Authorized));
                Assert.Equal(
                    p.Voided ? TransferResult.Exists : p.Captured > 0 ? TransferResult.PendingTransferAlreadyPosted : TransferResult.Ok,
                    voided);
                if (voided == TransferResult.Ok)
                {
                    p.Voided = true;
                    p.Held = 0;
                }

                break;

            case OpKind.Refund:
                Refund(book, p, Math.Max(1, p.Captured * op.Percent / 100));
                break;

            case OpKind.Purchase when !p.Started:
                Assert.Equal(TransferResult.Ok, Single(book, rules.Purchase(op.Amount)));
                p.Purchased = true;
                p.Captured = op.Amount;
                break;

            case OpKind.Replay when book.Transfers.Count > 0:
                var before = Snapshot(book);
                Assert.Equal(TransferResult.Exists, book.Apply(book.Transfers[op.Replay % book.Transfers.Count]));
                Assert.Equal(before, Snapshot(book));
                break;
        }
    }

    private static void Refund(LedgerBook book, PaymentModel p, long amount)
    {
        // A refund holds its amount, then the hold is posted (the PSP said it succeeded): the flag decides at the hold.
        var refundId = Guid.NewGuid();
        var entry = p.Rules.RefundHold(refundId, amount);
        if (LedgerPostingRules.CanRefund(p.Captured, p.Refunded, amount))
        {
            Assert.Equal(TransferResult.Ok, Single(book, entry));
            Assert.Equal(TransferResult.Ok, Single(book, p.Rules.Refund(refundId, amount)));
            p.Refunded += amount;
            return;
        }

        // Over the payment's refundable amount: the rules refuse it. When the merchant has no
        // other money to cover it, the ledger's flag must refuse it too.
        Assert.True(amount > p.Captured - p.Refunded);
        var merchant = book.Account(p.Rules.MerchantOwner, p.Rules.Currency);
        var available = merchant.CreditsPosted - merchant.DebitsPosted - merchant.DebitsPending;
        if (amount > available)
        {
            var before = Snapshot(book);
            Assert.Equal(TransferResult.ExceedsCredits, Single(book, entry));
            Assert.Equal(before, Snapshot(book));
        }
    }

    private static void AssertColumnsMatchModel(LedgerBook book, PaymentModel[] payments)
    {
        Assert.All(payments, p => Assert.InRange(p.Refunded, 0, p.Captured));
        foreach (var group in payments.GroupBy(p => (p.Rules.MerchantOwner, p.Rules.Currency)))
        {
            var merchant = book.Account(group.Key.MerchantOwner, group.Key.Currency);
            Assert.Equal(group.Sum(p => p.Captured), merchant.CreditsPosted);
            Assert.Equal(group.Sum(p => p.Refunded), merchant.DebitsPosted);
            Assert.Equal(group.Sum(p => p.Held), merchant.CreditsPending);
            Assert.Equal(0, merchant.DebitsPending);
        }

        foreach (var group in payments.GroupBy(p => (p.Rules.BuyerOwner, p.Rules.Currency)))
        {
            var buyer = book.Account(group.Key.BuyerOwner, group.Key.Currency);
            Assert.Equal(group.Sum(p => p.Captured), buyer.DebitsPosted);
            Assert.Equal(group.Sum(p => p.Refunded), buyer.CreditsPosted);
            Assert.Equal(group.Sum(p => p.Held), buyer.DebitsPending);
            Assert.Equal(0, buyer.CreditsPending);
        }
    }

    private static void AssertReplayingEverythingChangesNothing(LedgerBook book)
    {
        var before = Snapshot(book);
        foreach (var transfer in book.Transfers.ToList())
        {
            Assert.Equal(TransferResult.Exists, book.Apply(transfer));
        }

        Assert.Equal(before, Snapshot(book));
        Assert.Empty(book.Verify());
    }

    private static TransferResult Single(LedgerBook book, IReadOnlyList<TransferDraft> entry) => Assert.Single(book.Apply(entry));

    private static List<LedgerAccount> Snapshot(LedgerBook book) =>
        book.Accounts.OrderBy(a => a.Owner, StringComparer.Ordinal).ThenBy(a => a.Currency.Code, StringComparer.Ordinal).ToList();
}

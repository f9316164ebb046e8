using Payrail.Domain.Ledger;
using Payrail.Domain.Money;
using Xunit;

namespace Payrail.Tests.Domain;

/// <summary>
/// <see cref="LedgerPostingRules.SettleWithRefunds"/> and <see cref="LedgerPostingRules.ConvertRefund"/> on the model
/// ledger, without a database: a partially refunded EUR payment of a merchant whose payable may not go negative settles
/// in USD with each refund converted at the PSP's booked amount, in an order the merchant's flag accepts.
/// </summary>
public sealed class CrossCurrencyRefundPostingRulesTests
{
    private static readonly Guid PaymentId = Guid.Parse("5d0e8c1a-9a52-4b61-8f0e-3f3b3c2d9a10");
    private static readonly LedgerPostingRules Eur = new(PaymentId, "b_1", "m_1", Currency.EUR);
    private static readonly SettlementBooking Charge = new(Currency.USD, 3_240, 124, 3_116);
    private static readonly RefundBooking Refund = new("txn_refund", Failure: false, RefundedMinor: 1_500, Currency.USD, BookedMinor: 1_620);

    [Fact]
    public void A_partially_refunded_EUR_payment_settles_in_USD_and_leaves_the_strict_merchants_EUR_balance_at_zero()
    {
        var book = RefundedBook(1_500);

        var results = book.Apply(Eur.SettleWithRefunds("stripe", 3_000, Charge, [Refund]).Select(s => s.Transfer));

        Assert.All(results, r => Assert.Equal(TransferResult.Ok, r));
        Assert.Empty(book.Verify());
        Assert.Equal(0, Payable(book, Currency.EUR));
        Assert.Equal(3_240 - 124 - 1_620, Payable(book, Currency.USD));
    }

    [Fact]
    public void Converting_the_captured_amount_before_the_refund_came_back_is_refused_for_a_strict_merchant()
    {
        var book = RefundedBook(1_500);

        Assert.Equal(TransferResult.ExceedsCredits, book.Apply(Eur.Settle("stripe", 3_000, Charge)).First());
    }

    [Fact]
    public void Each_transfer_keeps_its_own_journal_entry_and_every_credit_to_the_merchant_comes_before_every_debit()
    {
        var steps = Eur.SettleWithRefunds("stripe", 3_000, Charge, [Refund]);

        var refundEntry = TransferIds.For(PaymentId, TransferSteps.RefundFxCredit("txn_refund"));
        var chargeEntry = TransferIds.For(PaymentId, TransferSteps.SettleFxOut);
        Assert.Equal([refundEntry, chargeEntry, chargeEntry, refundEntry, chargeEntry, chargeEntry], steps.Select(s => s.JournalEntryId));
        Assert.Equal(
            [
                ("fx:EUR-USD", "merchant:m_1", 1_500L, "EUR"),
                ("merchant:m_1", "fx:EUR-USD", 3_000L, "EUR"),
                ("fx:EUR-USD", "merchant:m_1", 3_240L, "USD"),
                ("merchant:m_1", "fx:EUR-USD", 1_620L, "USD"),
                ("merchant:m_1", "fees:stripe", 124L, "USD"),
                ("psp:stripe", "cash:stripe", 3_116L, "USD"),
            ],
            steps.Select(s => (s.Transfer.DebitOwner, s.Transfer.CreditOwner, s.Transfer.AmountMinor, s.Transfer.Currency.Code)));
    }

    [Fact]
    public void A_refund_and_its_failure_after_settlement_convert_back_to_where_the_merchant_was()
    {
        var refundId = Guid.NewGuid();
        var lenient = new LedgerBook(new HashSet<string> { "m_1" });
        lenient.Apply(Eur.Purchase(3_000));
        lenient.Apply(Eur.Settle("stripe", 3_000, Charge));
        var payable = Payable(lenient, Currency.USD);

        lenient.Apply([.. Eur.RefundHold(refundId, 1_500), .. Eur.Refund(refundId, 1_500)]);
        Assert.All(lenient.Apply(Eur.ConvertRefund(Refund)), r => Assert.Equal(TransferResult.Ok, r));
        Assert.Equal((0, payable - 1_620), (Payable(lenient, Currency.EUR), Payable(lenient, Currency.USD)));
        lenient.Apply(Eur.RefundFailure(refundId, 1_500));
        Assert.All(lenient.Apply(Eur.ConvertRefund(Refund with { BalanceTransaction = "txn_failure", Failure = true })),
            r => Assert.Equal(TransferResult.Ok, r));

        Assert.Equal((0, payable), (Payable(lenient, Currency.EUR), Payable(lenient, Currency.USD)));
        Assert.Empty(lenient.Verify());
    }

    [Theory]
    [InlineData(1_500, 3_000, 3_240, 1_669)] // 1,620 at the booked rate; + 3 %: 1,668.6 → 1,669
    [InlineData(1, 3_000, 3_240, 3)]         // 1.08 → 2 at the booked rate; + 3 %: 2.06 → 3
    [InlineData(1_000, 1_000, 1, 2)]         // 1 at the booked rate; + 3 %: 1.03 → 2
    public void A_refunds_estimate_in_the_settlement_currency_is_the_ceiling_at_the_booked_rate_plus_the_margin(
        long refund, long captured, long booked, long expected)
    {
        Assert.Equal(300, LedgerPostingRules.FxEstimateMarginBasisPoints);
        Assert.Equal(expected, LedgerPostingRules.FxEstimateMinor(refund, captured, booked));
    }

    [Fact]
    public void A_strict_merchants_backed_refund_after_settlement_holds_only_USD_and_converts_to_the_booked_amount()
    {
        var refundId = Guid.NewGuid();
        var book = new LedgerBook();
        book.Apply(Eur.Purchase(3_000));
        book.Apply(Eur.Settle("stripe", 3_000, Charge));
        var payable = Payable(book, Currency.USD);
        var backing = new RefundFxBacking(Currency.USD, LedgerPostingRules.FxEstimateMinor(1_500, 3_000, Charge.AmountMinor));

        // Unbacked, the EUR hold is refused: the conversion emptied the merchant's EUR payable.
        Assert.Equal(TransferResult.ExceedsCredits, book.Apply(Eur.RefundHold(refundId, 1_500)).Single());
        Assert.All(book.Apply([.. Eur.RefundFxEstimate(refundId, backing), .. Eur.RefundHold(refundId, 1_500, backing),
            .. Eur.Refund(refundId, 1_500, backing)]), r => Assert.Equal(TransferResult.Ok, r));
        Assert.Equal((0L, backing.EstimateMinor), (book.Account("merchant:m_1", Currency.EUR).DebitsPending,
            book.Account("merchant:m_1", Currency.USD).DebitsPending));
        Assert.All(book.Apply(Eur.ConvertBackedRefund(Refund, refundId, backing).Select(s => s.Transfer)), r => Assert.Equal(TransferResult.Ok, r));

        Assert.Equal((0, payable - 1_620), (Payable(book, Currency.EUR), Payable(book, Currency.USD)));
        Assert.Equal(0, book.Account("merchant:m_1", Currency.USD).DebitsPending);
        Assert.Empty(book.Verify());
    }

    [Fact]
    public void A_strict_merchants_backed_refund_is_refused_when_its_USD_payable_cannot_hold_the_estimate()
    {
        var refundId = Guid.NewGuid();
        var book = new LedgerBook();
        book.Apply(Eur.Purchase(3_000));
        book.Apply(Eur.Settle("stripe", 3_000, Charge));
        var backing = new RefundFxBacking(Currency.USD, LedgerPostingRules.FxEstimateMinor(3_000, 3_000, Charge.AmountMinor));

        Assert.Equal(TransferResult.ExceedsCredits, book.Apply(Eur.RefundFxEstimate(refundId, backing)).Single());
    }

    [Theory]
    [InlineData("EUR", 1_500, 1_620, "refund booked in the payment's own currency: nothing to convert")]
    [InlineData("USD", 0, 1_620, "refund amounts not positive")]
    [InlineData("USD", 1_500, 0, "refund amounts not positive")]
    [InlineData("GBP", 1_500, 1_620, "a refund booked in another currency than its charge")]
    public void A_refund_booking_that_does_not_fit_is_refused(string currency, long refunded, long booked, string refusal)
    {
        var refund = new RefundBooking("txn_refund", false, refunded, Currency.FromCode(currency), booked);

        Assert.Equal(refusal, Eur.SettlementRefusal(3_000, Charge, [refund]));
    }

    /// <summary>A strict merchant's book: the EUR payment captured at 3,000 and <paramref name="refunded"/> of it refunded.</summary>
    private static LedgerBook RefundedBook(long refunded)
    {
        var book = new LedgerBook();
        book.Apply(Eur.Purchase(3_000));
        var refundId = Guid.NewGuid();
        Assert.All(book.Apply([.. Eur.RefundHold(refundId, refunded), .. Eur.Refund(refundId, refunded)]), r => Assert.Equal(TransferResult.Ok, r));
        return book;
    }

    private static long Payable(LedgerBook book, Currency currency)
    {
        var account = book.Account("merchant:m_1", currency);
        return account.CreditsPosted - account.DebitsPosted;
    }
}

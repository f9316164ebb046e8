using Payrail.Domain.Ledger;
using Payrail.Domain.Money;
using Xunit;

namespace Payrail.Tests.Domain;

/// <summary>The settlement's posting rule (<see cref="LedgerPostingRules.Settle"/>) and the new account owners, without a database.</summary>
public sealed class SettlementPostingRulesTests
{
    private static readonly Guid PaymentId = Guid.Parse("0b7c7a52-4e43-4b8e-9c51-2f6f7e0f2a11");
    private static readonly LedgerPostingRules Usd = new(PaymentId, "b_1", "m_1", Currency.USD);
    private static readonly LedgerPostingRules Eur = new(PaymentId, "b_1", "m_1", Currency.EUR);

    [Fact]
    public void Settling_in_the_payment_currency_posts_the_fee_from_the_merchant_and_the_net_from_the_psp_to_cash()
    {
        var transfers = Usd.Settle("stripe", 1_999, new SettlementBooking(Currency.USD, 1_999, 88, 1_911));

        Assert.Equal(
            [
                (TransferIds.For(PaymentId, TransferSteps.SettleFee), "merchant:m_1", "fees:stripe", 88L, "USD"),
                (TransferIds.For(PaymentId, TransferSteps.SettleCash), "psp:stripe", "cash:stripe", 1_911L, "USD"),
            ],
            transfers.Select(t => (t.Id, t.DebitOwner, t.CreditOwner, t.AmountMinor, t.Currency.Code)));
        Assert.All(transfers, t => Assert.Equal(TransferKind.Posted, t.Kind));
    }

    [Fact]
    public void Settling_in_another_currency_converts_the_captured_amount_through_the_pairs_fx_account_first()
    {
        var transfers = Eur.Settle("stripe", 10_000, new SettlementBooking(Currency.USD, 10_800, 343, 10_457));

        Assert.Equal(
            [
                ("merchant:m_1", "fx:EUR-USD", 10_000L, "EUR"),
                ("fx:EUR-USD", "merchant:m_1", 10_800L, "USD"),
                ("merchant:m_1", "fees:stripe", 343L, "USD"),
                ("psp:stripe", "cash:stripe", 10_457L, "USD"),
            ],
            transfers.Select(t => (t.DebitOwner, t.CreditOwner, t.AmountMinor, t.Currency.Code)));
    }

    [Fact]
    public void A_settlement_applied_to_the_model_ledger_leaves_the_merchant_captured_minus_fees_and_the_books_sound()
    {
        var book = new LedgerBook();
        book.Apply(Eur.Purchase(10_000));
        var results = book.Apply(Eur.Settle("stripe", 10_000, new SettlementBooking(Currency.USD, 10_800, 343, 10_457)));

        Assert.All(results, r => Assert.Equal(TransferResult.Ok, r));
        Assert.Empty(book.Verify());
        var eur = book.Account("merchant:m_1", Currency.EUR);
        var usd = book.Account("merchant:m_1", Currency.USD);
        Assert.Equal(0, eur.CreditsPosted - eur.DebitsPosted);
        Assert.Equal(10_800 - 343, usd.CreditsPosted - usd.DebitsPosted);
        Assert.Equal(10_457, book.Account("cash:stripe", Currency.USD).CreditsPosted);

        // A re-run posts the same ids with the same fields: exists, nothing posted twice.
        var again = book.Apply(Eur.Settle("stripe", 10_000, new SettlementBooking(Currency.USD, 10_800, 343, 10_457)));
        Assert.All(again, r => Assert.Equal(TransferResult.Exists, r));
        Assert.Equal(10_800 - 343, book.Account("merchant:m_1", Currency.USD).CreditsPosted - book.Account("merchant:m_1", Currency.USD).DebitsPosted);
    }

    [Fact]
    public void A_refund_after_settlement_cannot_take_the_payable_below_zero_unless_the_merchant_allows_it()
    {
        var strict = new LedgerBook();
        var lenient = new LedgerBook(new HashSet<string> { "m_1" });
        foreach (var book in new[] { strict, lenient })
        {
            book.Apply(Usd.Purchase(3_000));
            book.Apply(Usd.Settle("stripe", 3_000, new SettlementBooking(Currency.USD, 3_000, 117, 2_883)));
        }

        var refundId = Guid.NewGuid();
        Assert.Equal(TransferResult.ExceedsCredits, strict.Apply(Usd.RefundHold(refundId, 3_000)).Single());
        Assert.Equal(TransferResult.Ok, lenient.Apply([.. Usd.RefundHold(refundId, 3_000), .. Usd.Refund(refundId, 3_000)]).Last());
        Assert.Equal(-117, lenient.Account("merchant:m_1", Currency.USD).CreditsPosted - lenient.Account("merchant:m_1", Currency.USD).DebitsPosted);
        Assert.Empty(lenient.Verify());
    }

    [Theory]
    [InlineData("USD", 1_999, 1_999, 88, 1_911, null)]
    [InlineData("USD", 1_999, 1_998, 88, 1_910, "booked amount differs from the captured amount")]
    [InlineData("USD", 1_999, 1_999, 88, 1_900, "net is not amount - fee")]
    [InlineData("USD", 1_999, 1_999, 2_000, -1, "fee outside [0, amount]")]
    [InlineData("USD", 0, 0, 0, 0, "nothing captured")]
    [InlineData("GBP", 1_999, 2_500, 100, 2_400, null)]
    public void A_booking_that_does_not_fit_the_payment_is_refused(string bookedCurrency, long captured, long amount, long fee, long net, string? refusal)
    {
        var booking = new SettlementBooking(Currency.FromCode(bookedCurrency), amount, fee, net);

        Assert.Equal(refusal, Usd.SettlementRefusal(captured, booking));
        if (refusal is not null) Assert.Throws<ArgumentException>(() => Usd.Settle("stripe", captured, booking));
    }

    [Fact]
    public void A_zero_fee_posts_no_fee_transfer()
    {
        var transfers = Usd.Settle("stripe", 50, new SettlementBooking(Currency.USD, 50, 0, 50));

        Assert.Equal([TransferIds.For(PaymentId, TransferSteps.SettleCash)], transfers.Select(t => t.Id));
    }

    [Fact]
    public void New_owner_kinds_have_their_flags()
    {
        Assert.Equal(AccountFlags.DebitsMustNotExceedCredits, LedgerAccounts.FlagsFor(LedgerAccountOwner.Cash("stripe")));
        Assert.Equal(AccountFlags.DebitsMustNotExceedCredits, LedgerAccounts.FlagsFor(LedgerAccountOwner.Fees("stripe")));
        Assert.Equal(AccountFlags.None, LedgerAccounts.FlagsFor(LedgerAccountOwner.Psp("stripe")));
        Assert.Equal(AccountFlags.None, LedgerAccounts.FlagsFor(LedgerAccountOwner.Fx(Currency.EUR, Currency.USD)));
        Assert.Equal(AccountFlags.None, LedgerAccounts.FlagsFor("merchant:m_1", merchantPayableMayGoNegative: true));
        Assert.Throws<ArgumentException>(() => LedgerAccountOwner.Fx(Currency.USD, Currency.USD));
    }
}

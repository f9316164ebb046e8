using Xunit;
using Payrail.Domain.Ledger;
using Payrail.Domain.Money;

namespace Payrail.Tests.Domain;

public sealed class LedgerBookTests
{
    private static readonly Currency Usd = Currency.USD;
    private readonly LedgerBook _book = new();
    private readonly LedgerPostingRules _payment = new(Guid.NewGuid(), "b_1", "m_1", Usd);

    private LedgerAccount Buyer => _book.Account("buyer:b_1", Usd);
    private LedgerAccount Merchant => _book.Account("merchant:m_1", Usd);

    private TransferResult Apply(IReadOnlyList<TransferDraft> entry) => Assert.Single(_book.Apply(entry));

    [Fact]
    public void Authorization_holds_the_amount_in_pending_columns()
    {
        Assert.Equal(TransferResult.Ok, Apply(_payment.Authorize(2000)));

        Assert.Equal((2000L, 0L, 0L, 0L), (Buyer.DebitsPending, Buyer.DebitsPosted, Buyer.CreditsPending, Buyer.CreditsPosted));
        Assert.Equal((0L, 0L, 2000L, 0L), (Merchant.DebitsPending, Merchant.DebitsPosted, Merchant.CreditsPending, Merchant.CreditsPosted));
        Assert.Empty(_book.Verify());
    }

    [Fact]
    public void Partial_capture_posts_the_part_and_releases_the_rest()
    {
        Apply(_payment.Authorize(2000));

        Assert.Equal(TransferResult.Ok, Apply(_payment.Capture(_payment.AuthorizationId, 2000, 1500)));

        Assert.Equal((0L, 1500L), (Buyer.DebitsPending, Buyer.DebitsPosted));
        Assert.Equal((0L, 1500L), (Merchant.CreditsPending, Merchant.CreditsPosted));
        Assert.Empty(_book.Verify());
    }

    [Fact]
    public void Void_releases_the_hold()
    {
        Apply(_payment.Authorize(2000));

        Assert.Equal(TransferResult.Ok, Apply(_payment.Void(_payment.AuthorizationId, 2000)));

        Assert.Equal((0L, 0L), (Buyer.DebitsPending, Buyer.DebitsPosted));
        Assert.Equal((0L, 0L), (Merchant.CreditsPending, Merchant.CreditsPosted));
        Assert.Empty(_book.Verify());
    }

    [Fact]
    public void Refunds_reverse_captured_money_up_to_the_merchants_credits()
    {
        Apply(_payment.Purchase(2000));

        Assert.Equal(TransferResult.Ok, Refund(1200));
        Assert.Equal(TransferResult.Ok, Refund(800));
        Assert.Equal(TransferResult.ExceedsCredits, Refund(1));

        Assert.Equal((2000L, 2000L), (Merchant.DebitsPosted, Merchant.CreditsPosted));
        Assert.Equal((2000L, 2000L), (Buyer.DebitsPosted, Buyer.CreditsPosted));
        Assert.Empty(_book.Verify());
    }

    [Fact]
    public void Refund_of_money_still_on_hold_is_refused_by_the_merchant_flag()
    {
        Apply(_payment.Authorize(2000));

        Assert.Equal(TransferResult.ExceedsCredits, Apply(_payment.RefundHold(Guid.NewGuid(), 1)));
    }

    [Fact]
    public void A_refund_hold_counts_against_the_merchant_flag_and_its_post_or_void_is_never_refused()
    {
        Apply(_payment.Purchase(2000));
        var held = Guid.NewGuid();
        var released = Guid.NewGuid();

        Assert.Equal(TransferResult.Ok, Apply(_payment.RefundHold(held, 1500)));
        Assert.Equal(TransferResult.ExceedsCredits, Apply(_payment.RefundHold(Guid.NewGuid(), 501)));
        Assert.Equal(TransferResult.Ok, Apply(_payment.RefundHold(released, 500)));
        Assert.Equal((2000L, 0L), (Merchant.DebitsPending, Merchant.DebitsPosted));
        Assert.Equal(TransferResult.Ok, Apply(_payment.Refund(held, 1500)));
        Assert.Equal(TransferResult.Ok, Apply(_payment.RefundRelease(released, 500)));

        Assert.Equal((0L, 1500L), (Merchant.DebitsPending, Merchant.DebitsPosted));
        Assert.Equal(TransferResult.PendingTransferAlreadyPosted, Apply(_payment.RefundRelease(held, 1500)));
        Assert.Empty(_book.Verify());
    }

    [Fact]
    public void A_fee_charged_to_a_merchant_whose_payable_is_held_is_posted_and_the_books_still_verify()
    {
        Apply(_payment.Purchase(2000));
        var held = Guid.NewGuid();
        Assert.Equal(TransferResult.Ok, Apply(_payment.RefundHold(held, 2000)));

        var fee = new TransferDraft(Guid.NewGuid(), TransferKind.Posted, _payment.MerchantOwner, "fees:stripe", 88, _payment.Currency, null);
        Assert.Equal(TransferResult.Ok, _book.Apply(fee));
        Assert.Equal(TransferResult.Ok, Apply(_payment.Refund(held, 2000)));

        Assert.Equal(-88, Merchant.CreditsPosted - Merchant.DebitsPosted);
        Assert.Empty(_book.Verify());
        // The overdraft is the fee's alone: no refund can draw on it.
        Assert.Equal(TransferResult.ExceedsCredits, Apply(_payment.RefundHold(Guid.NewGuid(), 1)));
    }

    private TransferResult Refund(long amountMinor)
    {
        var refundId = Guid.NewGuid();
        var held = Apply(_payment.RefundHold(refundId, amountMinor));
        return held == TransferResult.Ok ? Apply(_payment.Refund(refundId, amountMinor)) : held;
    }

    [Fact]
    public void Crediting_a_buyer_beyond_what_was_charged_is_refused_by_the_buyer_flag()
    {
        var transfer = new TransferDraft(Guid.NewGuid(), TransferKind.Posted, "merchant:m_1", "buyer:b_1", 1, Usd, null);

        // The merchant flag answers first for a merchant → buyer transfer, so exercise the buyer's with a second merchant.
        Apply(new LedgerPostingRules(Guid.NewGuid(), "b_2", "m_1", Usd).Purchase(10));
        Assert.Equal(TransferResult.ExceedsDebits, _book.Apply(transfer));
    }

    [Fact]
    public void Replayed_transfer_is_exists_and_changes_nothing()
    {
        var authorize = _payment.Authorize(2000);
        Apply(authorize);
        var before = _book.Accounts.ToList();

        Assert.Equal(TransferResult.Exists, Apply(authorize));
        Assert.Equal(TransferResult.Exists, Apply(_payment.Authorize(2000)));

        Assert.Equal(before, _book.Accounts.ToList());
        Assert.Single(_book.Transfers);
    }

    [Fact]
    public void Same_id_with_different_fields_is_refused()
    {
        Apply(_payment.Authorize(2000));

        Assert.Equal(TransferResult.ExistsWithDifferentFields, Apply(_payment.Authorize(2001)));
    }

    [Fact]
    public void Pending_transfer_is_resolved_once()
    {
        Apply(_payment.Authorize(2000));
        Apply(_payment.Capture(_payment.AuthorizationId, 2000, 2000));

        Assert.Equal(TransferResult.PendingTransferAlreadyPosted, Apply(_payment.Void(_payment.AuthorizationId, 2000)));
        var secondCapture = _payment.Capture(_payment.AuthorizationId, 2000, 1)[0] with { Id = Guid.NewGuid() };
        Assert.Equal(TransferResult.PendingTransferAlreadyPosted, _book.Apply(secondCapture));
    }

    [Fact]
    public void Voided_transfer_cannot_be_posted()
    {
        Apply(_payment.Authorize(2000));
        Apply(_payment.Void(_payment.AuthorizationId, 2000));

        Assert.Equal(TransferResult.PendingTransferAlreadyVoided, Apply(_payment.Capture(_payment.AuthorizationId, 2000, 2000)));
    }

    [Fact]
    public void Shape_and_pending_rules_reject_with_stable_codes()
    {
        Apply(_payment.Authorize(2000));
        var purchase = _payment.Purchase(10)[0];
        Apply([purchase]);
        var pendingId = _payment.AuthorizationId;
        TransferDraft Draft(TransferKind kind, string debit, string credit, long amount, Currency currency, Guid? pending) =>
            new(Guid.NewGuid(), kind, debit, credit, amount, currency, pending);

        var cases = new (TransferDraft Transfer, TransferResult Expected, string Code)[]
        {
            (Draft(TransferKind.Posted, "buyer:b_1", "merchant:m_1", 0, Usd, null), TransferResult.AmountMustBePositive, "amount_must_be_positive"),
            (Draft(TransferKind.Posted, "buyer:b_1", "merchant:m_1", -5, Usd, null), TransferResult.AmountMustBePositive, "amount_must_be_positive"),
            (Draft(TransferKind.Posted, "buyer:b_1", "buyer:b_1", 5, Usd, null), TransferResult.AccountsMustBeDifferent, "accounts_must_be_different"),
            (Draft(TransferKind.Posted, "bank:x", "merchant:m_1", 5, Usd, null), TransferResult.UnknownOwner, "unknown_owner"),
            (Draft(TransferKind.Posted, "buyer:b_1", "merchant:m_1", 5, Usd, pendingId), TransferResult.PendingIdMustBeEmpty, "pending_id_must_be_empty"),
            (Draft(TransferKind.Pending, "buyer:b_1", "merchant:m_1", 5, Usd, pendingId), TransferResult.PendingIdMustBeEmpty, "pending_id_must_be_empty"),
            (Draft(TransferKind.PostPending, "buyer:b_1", "merchant:m_1", 5, Usd, null), TransferResult.PendingIdRequired, "pending_id_required"),
            (Draft(TransferKind.PostPending, "buyer:b_1", "merchant:m_1", 5, Usd, Guid.NewGuid()), TransferResult.PendingTransferNotFound, "pending_transfer_not_found"),
            (Draft(TransferKind.PostPending, "buyer:b_1", "merchant:m_1", 5, Usd, purchase.Id), TransferResult.PendingTransferNotPending, "pending_transfer_not_pending"),
            (Draft(TransferKind.PostPending, "buyer:b_2", "merchant:m_1", 5, Usd, pendingId), TransferResult.PendingTransferHasDifferentAccounts, "pending_transfer_has_different_accounts"),
            (Draft(TransferKind.PostPending, "buyer:b_1", "merchant:m_1", 5, Currency.EUR, pendingId), TransferResult.PendingTransferHasDifferentCurrency, "pending_transfer_has_different_currency"),
            (Draft(TransferKind.PostPending, "buyer:b_1", "merchant:m_1", 2001, Usd, pendingId), TransferResult.ExceedsPendingTransferAmount, "exceeds_pending_transfer_amount"),
            (Draft(TransferKind.VoidPending, "buyer:b_1", "merchant:m_1", 1999, Usd, pendingId), TransferResult.VoidAmountMustMatchPendingAmount, "void_amount_must_match_pending_amount"),
        };
        var before = _book.Accounts.ToList();

        foreach (var (transfer, expected, code) in cases)
        {
            var result = _book.Apply(transfer);
            Assert.Equal(expected, result);
            Assert.Equal(code, result.ToCode());
            Assert.False(result.IsSuccess());
        }

        Assert.Equal(before, _book.Accounts.ToList());
        Assert.Equal(2, _book.Transfers.Count);
        Assert.Empty(_book.Verify());
    }

    [Fact]
    public void Column_overflow_is_refused_not_wrapped()
    {
        var big = new LedgerPostingRules(Guid.NewGuid(), "b_1", "m_1", Usd);
        Apply(big.Purchase(long.MaxValue));

        Assert.Equal(TransferResult.Overflow, Apply(_payment.Purchase(1)));
        Assert.Empty(_book.Verify());
    }

    [Fact]
    public void Every_result_has_a_distinct_stable_code()
    {
        var codes = Enum.GetValues<TransferResult>().Select(r => r.ToCode()).ToList();

        Assert.Equal(codes.Count, codes.Distinct().Count());
        Assert.All(codes, code => Assert.Matches("^[a-z_]+$", code));
    }

    [Fact]
    public void Currencies_keep_separate_accounts()
    {
        Apply(_payment.Purchase(2000));
        Apply(new LedgerPostingRules(Guid.NewGuid(), "b_1", "m_1", Currency.JPY).Purchase(500));

        Assert.Equal(2000, _book.Account("merchant:m_1", Usd).CreditsPosted);
        Assert.Equal(500, _book.Account("merchant:m_1", Currency.JPY).CreditsPosted);
        Assert.Equal(4, _book.Accounts.Count);
        Assert.Empty(_book.Verify());
    }
}

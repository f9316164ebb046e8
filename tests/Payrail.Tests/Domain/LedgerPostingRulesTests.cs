using Xunit;
using Payrail.Domain.Ledger;
using Payrail.Domain.Money;

namespace Payrail.Tests.Domain;

public sealed class LedgerPostingRulesTests
{
    private static readonly Guid PaymentId = Guid.Parse("7d444840-9dc0-11d1-b245-5ffdce74fad2");
    private static readonly LedgerPostingRules Rules = new(PaymentId, "b_1", "m_1", Currency.USD);

    [Fact]
    public void Transfer_id_is_rfc_uuid_v5()
    {
        // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
        var dns = Guid.Parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8");

        Assert.Equal(Guid.Parse("886313e1-3b8a-5372-9b90-0c9aee199e5d"), TransferIds.For(dns, "python.org"));
    }

    [Fact]
    public void Transfer_ids_are_deterministic_and_distinct_per_step_and_payment()
    {
        var other = Guid.NewGuid();
        var refundA = Guid.NewGuid();
        var refundB = Guid.NewGuid();
        var ids = new[]
        {
            TransferIds.For(PaymentId, TransferSteps.Authorize),
            TransferIds.For(PaymentId, TransferSteps.Capture),
            TransferIds.For(PaymentId, TransferSteps.Void),
            TransferIds.For(PaymentId, TransferSteps.Purchase),
            TransferIds.For(PaymentId, TransferSteps.Refund(refundA)),
            TransferIds.For(PaymentId, TransferSteps.Refund(refundB)),
            TransferIds.For(other, TransferSteps.Authorize),
        };

        Assert.Equal(ids.Length, ids.Distinct().Count());
        Assert.Equal(ids[0], TransferIds.For(PaymentId, "authorize"));
        Assert.Equal(ids[4], TransferIds.For(PaymentId, "refund:" + refundA.ToString("D")));
    }

    [Fact]
    public void Authorize_is_one_pending_transfer_from_buyer_to_merchant()
    {
        var entry = Rules.Authorize(2000);

        var transfer = Assert.Single(entry);
        Assert.Equal(
            new TransferDraft(TransferIds.For(PaymentId, "authorize"), TransferKind.Pending, "buyer:b_1", "merchant:m_1", 2000, Currency.USD, null),
            transfer);
        Assert.Equal(Rules.AuthorizationId, transfer.Id);
    }

    [Fact]
    public void Capture_posts_the_captured_part_of_the_hold()
    {
        var transfer = Assert.Single(Rules.Capture(Rules.AuthorizationId, 2000, 1500));

        Assert.Equal(TransferKind.PostPending, transfer.Kind);
        Assert.Equal(1500, transfer.AmountMinor);
        Assert.Equal(Rules.AuthorizationId, transfer.PendingId);
        Assert.Equal(("buyer:b_1", "merchant:m_1"), (transfer.DebitOwner, transfer.CreditOwner));
        Assert.Equal(TransferIds.For(PaymentId, "capture"), transfer.Id);
    }

    [Fact]
    public void Capture_above_the_authorized_amount_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Rules.Capture(Rules.AuthorizationId, 2000, 2001));
        Assert.Throws<ArgumentOutOfRangeException>(() => Rules.Capture(Rules.AuthorizationId, 2000, 0));
    }

    [Fact]
    public void Purchase_is_one_posted_transfer()
    {
        var transfer = Assert.Single(Rules.Purchase(2000));

        Assert.Equal(TransferKind.Posted, transfer.Kind);
        Assert.Null(transfer.PendingId);
        Assert.Equal(TransferIds.For(PaymentId, "purchase"), transfer.Id);
    }

    [Fact]
    public void Void_releases_the_whole_hold()
    {
        var transfer = Assert.Single(Rules.Void(Rules.AuthorizationId, 2000));

        Assert.Equal(TransferKind.VoidPending, transfer.Kind);
        Assert.Equal(2000, transfer.AmountMinor);
        Assert.Equal(Rules.AuthorizationId, transfer.PendingId);
    }

    [Fact]
    public void A_refund_is_a_hold_from_merchant_to_buyer_posted_on_success_or_voided_on_failure()
    {
        var refundId = Guid.NewGuid();

        var hold = Assert.Single(Rules.RefundHold(refundId, 700));
        var post = Assert.Single(Rules.Refund(refundId, 700));
        var release = Assert.Single(Rules.RefundRelease(refundId, 700));

        Assert.Equal(TransferKind.Pending, hold.Kind);
        Assert.Equal(("merchant:m_1", "buyer:b_1"), (hold.DebitOwner, hold.CreditOwner));
        Assert.Equal(TransferIds.For(PaymentId, $"refund_hold:{refundId}"), hold.Id);
        Assert.Equal((TransferKind.PostPending, hold.Id, ("merchant:m_1", "buyer:b_1")), (post.Kind, post.PendingId, (post.DebitOwner, post.CreditOwner)));
        Assert.Equal(TransferIds.For(PaymentId, $"refund:{refundId}"), post.Id);
        Assert.Equal((TransferKind.VoidPending, hold.Id, 700L), (release.Kind, release.PendingId, release.AmountMinor));
        Assert.Equal(TransferIds.For(PaymentId, $"refund_release:{refundId}"), release.Id);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(long.MinValue)]
    public void Non_positive_amounts_are_refused(long amount)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Rules.Authorize(amount));
        Assert.Throws<ArgumentOutOfRangeException>(() => Rules.Purchase(amount));
        Assert.Throws<ArgumentOutOfRangeException>(() => Rules.Refund(Guid.NewGuid(), amount));
        Assert.Throws<ArgumentOutOfRangeException>(() => Rules.Void(Rules.AuthorizationId, amount));
    }

    [Theory]
    [InlineData(2000, 0, 2000, true)]
    [InlineData(2000, 1500, 500, true)]
    [InlineData(2000, 1500, 501, false)]
    [InlineData(2000, 2000, 1, false)]
    [InlineData(2000, 0, 0, false)]
    [InlineData(0, 0, 1, false)]
    public void Refund_fits_in_captured_minus_refunded(long captured, long refunded, long amount, bool allowed)
    {
        Assert.Equal(allowed, LedgerPostingRules.CanRefund(captured, refunded, amount));
    }

    [Fact]
    public void Owners_and_flags_follow_the_pinned_model()
    {
        Assert.Equal("buyer:b_1", LedgerAccountOwner.Buyer("b_1"));
        Assert.Equal("merchant:m_1", LedgerAccountOwner.Merchant("m_1"));
        Assert.Equal(AccountFlags.CreditsMustNotExceedDebits, LedgerAccounts.FlagsFor("buyer:b_1"));
        Assert.Equal(AccountFlags.DebitsMustNotExceedCredits, LedgerAccounts.FlagsFor("merchant:m_1"));
        Assert.Throws<ArgumentException>(() => LedgerAccounts.FlagsFor("bank:b_1"));
        Assert.Throws<ArgumentException>(() => LedgerAccounts.FlagsFor("buyer:"));
        Assert.ThrowsAny<ArgumentException>(() => LedgerAccountOwner.Buyer(""));
        Assert.Throws<ArgumentException>(() => LedgerAccountOwner.Merchant("m 1"));
    }
}

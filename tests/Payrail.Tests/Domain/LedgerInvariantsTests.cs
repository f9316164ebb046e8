using Payrail.Domain.Ledger;
using Payrail.Domain.Money;
using Xunit;

namespace Payrail.Tests.Domain;

/// <summary>The book cannot be corrupted through its API, so these feed the checker broken books directly.</summary>
public sealed class LedgerInvariantsTests
{
    private static readonly Currency Usd = Currency.USD;
    private static readonly TransferDraft Purchase =
        new(Guid.NewGuid(), TransferKind.Posted, "buyer:b", "merchant:m", 500, Usd, null);

    private static LedgerAccount Buyer(long debitsPosted, long creditsPosted = 0) =>
        LedgerAccount.Open("buyer:b", Usd) with { DebitsPosted = debitsPosted, CreditsPosted = creditsPosted };

    private static LedgerAccount Merchant(long creditsPosted, long debitsPosted = 0) =>
        LedgerAccount.Open("merchant:m", Usd) with { CreditsPosted = creditsPosted, DebitsPosted = debitsPosted };

    private static IEnumerable<string> Codes(IReadOnlyList<TransferDraft> transfers, params LedgerAccount[] accounts) =>
        LedgerInvariants.Check(transfers, accounts).Select(v => v.Code).Distinct();

    [Fact]
    public void Sound_book_has_no_violations()
    {
        Assert.Empty(Codes([Purchase], Buyer(500), Merchant(500)));
    }

    [Fact]
    public void Columns_that_differ_from_the_transfers_are_reported()
    {
        Assert.Contains("columns_mismatch", Codes([Purchase], Buyer(500), Merchant(499)));
        Assert.Contains("columns_mismatch", Codes([], Buyer(500), Merchant(500)));
        Assert.Contains("columns_mismatch", Codes([Purchase]));
    }

    [Fact]
    public void Unbalanced_currency_is_reported()
    {
        Assert.Contains("unbalanced", Codes([Purchase], Buyer(500), Merchant(400)));
    }

    [Fact]
    public void Non_positive_amount_is_reported()
    {
        Assert.Contains("amount_not_positive", Codes([Purchase with { AmountMinor = 0 }]));
    }

    [Fact]
    public void Broken_flags_and_negative_columns_are_reported()
    {
        var refund = new TransferDraft(Guid.NewGuid(), TransferKind.Posted, "merchant:m", "buyer:b", 600, Usd, null);

        Assert.Contains("flags_violated", Codes([Purchase, refund], Buyer(500, 600), Merchant(500, 600)));
        Assert.Contains("negative_column", Codes([], Buyer(-1), Merchant(-1)));
    }

    [Fact]
    public void Pending_columns_count_only_unresolved_holds()
    {
        var hold = new TransferDraft(Guid.NewGuid(), TransferKind.Pending, "buyer:b", "merchant:m", 900, Usd, null);
        var post = new TransferDraft(Guid.NewGuid(), TransferKind.PostPending, "buyer:b", "merchant:m", 300, Usd, hold.Id);

        Assert.Empty(Codes([hold, post], Buyer(300), Merchant(300)));
        Assert.Empty(Codes([hold],
            LedgerAccount.Open("buyer:b", Usd) with { DebitsPending = 900 },
            LedgerAccount.Open("merchant:m", Usd) with { CreditsPending = 900 }));
        Assert.Contains("columns_mismatch", Codes([hold, post],
            Buyer(300) with { DebitsPending = 600 }, Merchant(300) with { CreditsPending = 600 }));
    }
}

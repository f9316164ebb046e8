using Npgsql;
using Payrail.Ledger;
using Payrail.Testing;
using Xunit;
using static Payrail.Tests.Database.LedgerTestBooks;

namespace Payrail.Tests.Database;

/// <summary>The database itself refuses transfers that would break the books, and applies TigerBeetle's balance effects.</summary>
public sealed class LedgerTransferTriggerTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly Balances Zero = new(0, 0, 0, 0);

    [Fact]
    public async Task Posted_transfer_moves_posted_balances()
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer");
        var merchant = await AccountAsync(connection, "merchant");

        await TransferAsync(connection, buyer, merchant, 1250);

        Assert.Equal(new Balances(0, 1250, 0, 0), await BalancesAsync(connection, buyer));
        Assert.Equal(new Balances(0, 0, 0, 1250), await BalancesAsync(connection, merchant));
    }

    [Fact]
    public async Task Partial_post_of_a_pending_transfer_posts_the_amount_and_releases_the_whole_hold()
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer");
        var merchant = await AccountAsync(connection, "merchant");

        var hold = await TransferAsync(connection, buyer, merchant, 1000, kind: "pending");
        Assert.Equal(new Balances(1000, 0, 0, 0), await BalancesAsync(connection, buyer));
        Assert.Equal(new Balances(0, 0, 1000, 0), await BalancesAsync(connection, merchant));

        await TransferAsync(connection, buyer, merchant, 600, kind: "post_pending", pendingId: hold);

        Assert.Equal(new Balances(0, 600, 0, 0), await BalancesAsync(connection, buyer));
        Assert.Equal(new Balances(0, 0, 0, 600), await BalancesAsync(connection, merchant));
    }

    [Fact]
    public async Task Void_of_a_pending_transfer_releases_the_hold()
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer");
        var merchant = await AccountAsync(connection, "merchant");
        var hold = await TransferAsync(connection, buyer, merchant, 1000, kind: "pending");

        await TransferAsync(connection, buyer, merchant, 1000, kind: "void_pending", pendingId: hold);

        Assert.Equal(Zero, await BalancesAsync(connection, buyer));
        Assert.Equal(Zero, await BalancesAsync(connection, merchant));
    }

    [Fact]
    public async Task Retried_transfer_with_the_same_id_posts_once()
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer");
        var merchant = await AccountAsync(connection, "merchant");
        var id = Guid.NewGuid();

        await TransferAsync(connection, buyer, merchant, 700, id: id);
        await TransferAsync(connection, buyer, merchant, 700, id: id);

        Assert.Equal(new Balances(0, 700, 0, 0), await BalancesAsync(connection, buyer));
    }

    [Fact]
    public async Task Transfer_in_another_currency_than_an_account_is_refused()
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer", "EUR");
        var merchant = await AccountAsync(connection, "merchant", "USD");

        await AssertRefusedAsync(connection, LedgerSqlState.CurrencyMismatch, () => TransferAsync(connection, buyer, merchant, 100, currency: "EUR"), buyer, merchant);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public async Task Non_positive_amount_is_refused(long amountMinor)
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer");
        var merchant = await AccountAsync(connection, "merchant");

        await AssertRefusedAsync(connection, PostgresErrorCodes.CheckViolation, () => TransferAsync(connection, buyer, merchant, amountMinor), buyer, merchant);
    }

    [Fact]
    public async Task Transfer_from_an_account_to_itself_is_refused()
    {
        await using var connection = await postgres.OpenAsync();
        var account = await AccountAsync(connection, "buyer");

        await AssertRefusedAsync(connection, PostgresErrorCodes.CheckViolation, () => TransferAsync(connection, account, account, 100), account);
    }

    [Fact]
    public async Task Post_of_a_transfer_that_is_not_pending_is_refused()
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer");
        var merchant = await AccountAsync(connection, "merchant");
        var posted = await TransferAsync(connection, buyer, merchant, 100);
        var before = await BalancesAsync(connection, buyer);

        var refused = await Assert.ThrowsAsync<PostgresException>(() => TransferAsync(connection, buyer, merchant, 100, kind: "post_pending", pendingId: posted));

        Assert.Equal(LedgerSqlState.InvalidPendingReference, refused.SqlState);
        Assert.Equal(before, await BalancesAsync(connection, buyer));
    }

    [Fact]
    public async Task Transfer_to_an_unknown_account_is_refused()
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer");

        await AssertRefusedAsync(connection, PostgresErrorCodes.ForeignKeyViolation, () => TransferAsync(connection, buyer, long.MaxValue, 100), buyer);
        await AssertRefusedAsync(connection, PostgresErrorCodes.ForeignKeyViolation, () => TransferAsync(connection, long.MaxValue, buyer, 100), buyer);
    }

    [Fact]
    public async Task Post_of_an_unknown_pending_transfer_is_refused()
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer");
        var merchant = await AccountAsync(connection, "merchant");

        await AssertRefusedAsync(connection, PostgresErrorCodes.ForeignKeyViolation,
            () => TransferAsync(connection, buyer, merchant, 100, kind: "post_pending", pendingId: Guid.NewGuid()), buyer, merchant);
    }

    [Fact]
    public async Task Post_with_other_accounts_than_the_pending_transfer_is_refused()
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer");
        var merchant = await AccountAsync(connection, "merchant");
        var other = await AccountAsync(connection, "merchant");
        var hold = await TransferAsync(connection, buyer, merchant, 100, kind: "pending");

        var refused = await Assert.ThrowsAsync<PostgresException>(() => TransferAsync(connection, buyer, other, 100, kind: "post_pending", pendingId: hold));

        Assert.Equal(LedgerSqlState.InvalidPendingReference, refused.SqlState);
        Assert.Equal(new Balances(100, 0, 0, 0), await BalancesAsync(connection, buyer));
        Assert.Equal(Zero, await BalancesAsync(connection, other));
    }

    [Fact]
    public async Task Post_above_the_pending_amount_is_refused()
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer");
        var merchant = await AccountAsync(connection, "merchant");
        var hold = await TransferAsync(connection, buyer, merchant, 1000, kind: "pending");
        var count = await TransferCountAsync(connection);

        var refused = await Assert.ThrowsAsync<PostgresException>(() => TransferAsync(connection, buyer, merchant, 1001, kind: "post_pending", pendingId: hold));

        Assert.Equal(LedgerSqlState.PendingAmountMismatch, refused.SqlState);
        Assert.Equal(count, await TransferCountAsync(connection));
        Assert.Equal(new Balances(1000, 0, 0, 0), await BalancesAsync(connection, buyer));
        Assert.Equal(new Balances(0, 0, 1000, 0), await BalancesAsync(connection, merchant));
    }

    [Fact]
    public async Task Void_of_another_amount_than_the_pending_one_is_refused()
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer");
        var merchant = await AccountAsync(connection, "merchant");
        var hold = await TransferAsync(connection, buyer, merchant, 1000, kind: "pending");

        var refused = await Assert.ThrowsAsync<PostgresException>(() => TransferAsync(connection, buyer, merchant, 999, kind: "void_pending", pendingId: hold));

        Assert.Equal(LedgerSqlState.PendingAmountMismatch, refused.SqlState);
        Assert.Equal(new Balances(1000, 0, 0, 0), await BalancesAsync(connection, buyer));
    }

    [Fact]
    public async Task A_pending_transfer_is_resolved_at_most_once()
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer");
        var merchant = await AccountAsync(connection, "merchant");
        var hold = await TransferAsync(connection, buyer, merchant, 1000, kind: "pending");
        await TransferAsync(connection, buyer, merchant, 400, kind: "post_pending", pendingId: hold);

        var refused = await Assert.ThrowsAsync<PostgresException>(() => TransferAsync(connection, buyer, merchant, 1000, kind: "void_pending", pendingId: hold));

        Assert.Equal(PostgresErrorCodes.UniqueViolation, refused.SqlState);
        Assert.Equal(new Balances(0, 400, 0, 0), await BalancesAsync(connection, buyer));
    }

    [Fact]
    public async Task Refund_above_what_the_merchant_holds_breaks_debits_must_not_exceed_credits_and_is_refused()
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer");
        var merchant = await AccountAsync(connection, "merchant", flags: DebitsMustNotExceedCredits);
        await TransferAsync(connection, buyer, merchant, 1000);
        await TransferAsync(connection, merchant, buyer, 600); // a partial refund the merchant can cover
        var count = await TransferCountAsync(connection);

        var refused = await Assert.ThrowsAsync<PostgresException>(() => TransferAsync(connection, merchant, buyer, 401));

        Assert.Equal(LedgerSqlState.BalanceLimitExceeded, refused.SqlState);
        Assert.Contains("debits_must_not_exceed_credits", refused.MessageText, StringComparison.Ordinal);
        Assert.Equal(count, await TransferCountAsync(connection));
        Assert.Equal(new Balances(0, 600, 0, 1000), await BalancesAsync(connection, merchant));
        Assert.Equal(new Balances(0, 1000, 0, 600), await BalancesAsync(connection, buyer));
    }

    [Fact]
    public async Task Credits_must_not_exceed_debits_limits_the_credited_account()
    {
        await using var connection = await postgres.OpenAsync();
        var receivable = await AccountAsync(connection, "psp_receivable", flags: CreditsMustNotExceedDebits);
        var cash = await AccountAsync(connection, "cash");

        var refused = await Assert.ThrowsAsync<PostgresException>(() => TransferAsync(connection, cash, receivable, 1, kind: "pending"));

        Assert.Equal(LedgerSqlState.BalanceLimitExceeded, refused.SqlState);
        Assert.Equal(Zero, await BalancesAsync(connection, receivable));
    }

    private static async Task AssertRefusedAsync(NpgsqlConnection connection, string sqlState, Func<Task> transfer, params long[] accounts)
    {
        var count = await TransferCountAsync(connection);
        var refused = await Assert.ThrowsAsync<PostgresException>(transfer);
        Assert.Equal(sqlState, refused.SqlState);
        Assert.Equal(count, await TransferCountAsync(connection));
        foreach (var account in accounts) Assert.Equal(Zero, await BalancesAsync(connection, account));
    }
}

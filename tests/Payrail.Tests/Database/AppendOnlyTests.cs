using Dapper;
using Npgsql;
using Payrail.Ledger;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Database;

public sealed class AppendOnlyTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Theory]
    [InlineData("UPDATE ledger_transfers SET amount_minor = amount_minor + 1")]
    [InlineData("DELETE FROM ledger_transfers")]
    [InlineData("TRUNCATE ledger_transfers CASCADE")]
    public async Task Ledger_transfers_refuse_rewrites(string sql)
    {
        await using var connection = await postgres.OpenAsync();
        var debit = await LedgerTestBooks.AccountAsync(connection, "buyer");
        var credit = await LedgerTestBooks.AccountAsync(connection, "merchant");
        await LedgerTestBooks.TransferAsync(connection, debit, credit, 500);
        var before = await LedgerTestBooks.TransferCountAsync(connection);

        var refused = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync(sql));

        Assert.Equal(LedgerSqlState.AppendOnly, refused.SqlState);
        Assert.Equal(before, await LedgerTestBooks.TransferCountAsync(connection));
    }

    [Theory]
    [InlineData("UPDATE payment_transitions SET cause = 'rewritten'")]
    [InlineData("DELETE FROM payment_transitions")]
    [InlineData("TRUNCATE payment_transitions")]
    public async Task Payment_transitions_refuse_rewrites(string sql)
    {
        await using var connection = await postgres.OpenAsync();
        await connection.ExecuteAsync("INSERT INTO merchants (id, name) VALUES ('m_append', 'Append') ON CONFLICT DO NOTHING");
        var payment = Guid.NewGuid();
        await connection.ExecuteAsync(
            """
            INSERT INTO payments (id, merchant_id, buyer_id, amount_minor, currency, status) VALUES (@payment, 'm_append', 'u_1', 1000, 'EUR', 'initiated');
            INSERT INTO payment_transitions (payment_id, from_status, to_status, cause) VALUES (@payment, NULL, 'initiated', 'api');
            """, new { payment });

        var refused = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync(sql));

        Assert.Equal(LedgerSqlState.AppendOnly, refused.SqlState);
        Assert.Equal(1, await connection.QuerySingleAsync<int>("SELECT count(*)::int FROM payment_transitions WHERE payment_id = @payment", new { payment }));
    }

    [Theory]
    [InlineData("DELETE FROM ledger_accounts")]
    [InlineData("TRUNCATE ledger_accounts CASCADE")]
    [InlineData("DELETE FROM merchants")]
    [InlineData("TRUNCATE merchants CASCADE")]
    public async Task Merchants_and_ledger_accounts_that_payments_and_transfers_name_are_never_removed(string sql)
    {
        await using var connection = await postgres.OpenAsync();
        await connection.ExecuteAsync("INSERT INTO merchants (id, name) VALUES ('m_stays', 'Stays') ON CONFLICT DO NOTHING");
        await LedgerTestBooks.AccountAsync(connection, "merchant");
        var before = await connection.QuerySingleAsync<long>("SELECT (SELECT count(*) FROM merchants) + (SELECT count(*) FROM ledger_accounts)");

        var refused = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync(sql));

        Assert.Equal(LedgerSqlState.AppendOnly, refused.SqlState);
        Assert.Equal(before, await connection.QuerySingleAsync<long>("SELECT (SELECT count(*) FROM merchants) + (SELECT count(*) FROM ledger_accounts)"));
    }

    // Changing the owner would move the balance to someone else without a transfer; changing the currency or the
    // flags would change what the balance means and which side of a transfer is checked.
    [Theory]
    [InlineData("owner = owner || '_moved'")]
    [InlineData("currency = 'USD'")]
    [InlineData("flags = 0")]
    [InlineData("created_at = created_at - interval '1 day'")]
    public async Task A_ledger_account_never_changes_once_created(string assignment)
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await LedgerTestBooks.AccountAsync(connection, "buyer", flags: LedgerTestBooks.CreditsMustNotExceedDebits);
        var merchant = await LedgerTestBooks.AccountAsync(connection, "merchant", flags: LedgerTestBooks.DebitsMustNotExceedCredits);
        await LedgerTestBooks.TransferAsync(connection, buyer, merchant, 900);
        const string account = "SELECT a::text FROM ledger_account_totals a WHERE id = @merchant";
        var before = await connection.QuerySingleAsync<string>(account, new { merchant });

        var refused = await Assert.ThrowsAsync<PostgresException>(() =>
            connection.ExecuteAsync($"UPDATE ledger_accounts SET {assignment} WHERE id = @merchant", new { merchant }));

        Assert.Equal(LedgerSqlState.AccountChanged, refused.SqlState);
        Assert.Equal(before, await connection.QuerySingleAsync<string>(account, new { merchant }));
    }

    [Fact]
    public async Task A_payment_names_an_existing_merchant()
    {
        await using var connection = await postgres.OpenAsync();

        var refused = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync(
            "INSERT INTO payments (id, merchant_id, buyer_id, amount_minor, currency, status) VALUES (@id, 'm_nobody', 'b', 100, 'EUR', 'initiated')",
            new { id = Guid.NewGuid() }));

        Assert.Equal(PostgresErrorCodes.ForeignKeyViolation, refused.SqlState);
    }

    [Fact]
    public async Task Account_balances_change_only_through_transfers()
    {
        await using var connection = await postgres.OpenAsync();
        var account = await LedgerTestBooks.AccountAsync(connection, "merchant");

        var refused = await Assert.ThrowsAsync<PostgresException>(() =>
            connection.ExecuteAsync("UPDATE ledger_account_balances SET credits_posted = 1000 WHERE account_id = @account AND stripe = 0", new { account }));

        Assert.Equal(LedgerSqlState.BalanceChangedOutsideTransfer, refused.SqlState);
        Assert.Equal(new LedgerTestBooks.Balances(0, 0, 0, 0), await LedgerTestBooks.BalancesAsync(connection, account));
    }
}

using Dapper;
using Npgsql;
using Payrail.Ledger;
using Payrail.Testing;
using Xunit;
using static Payrail.Tests.Database.LedgerTestBooks;

namespace Payrail.Tests.Database;

public sealed class LedgerVerificationTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task Consistent_ledger_verifies()
    {
        await using var connection = new NpgsqlConnection(await postgres.CreateDatabaseAsync());
        await BookAuthorizeCaptureRefundAsync(connection);

        var violations = await LedgerVerification.VerifyAsync(connection);

        Assert.Empty(violations);
    }

    [Fact]
    public async Task Tampered_account_column_is_reported_with_the_account()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        await using var connection = new NpgsqlConnection(connectionString);
        var (_, merchant) = await BookAuthorizeCaptureRefundAsync(connection);
        await using (var superuser = new NpgsqlConnection(postgres.SuperuserConnectionStringFor(connectionString)))
        {
            // Replica mode skips ordinary triggers: the only way past the balance guard, as an attacker with superuser rights would.
            await superuser.ExecuteAsync(
                "SET session_replication_role = replica; UPDATE ledger_account_balances SET credits_posted = credits_posted + 1 WHERE account_id = @merchant AND stripe = 0; RESET session_replication_role;",
                new { merchant });
        }
        var owner = await connection.QuerySingleAsync<string>("SELECT owner FROM ledger_accounts WHERE id = @merchant", new { merchant });

        var violations = await LedgerVerification.VerifyAsync(connection);

        var mismatch = Assert.Single(violations, v => v.Invariant == "account_equals_its_transfers");
        Assert.Contains(owner, mismatch.Subject, StringComparison.Ordinal);
        Assert.Contains("credits_posted=800", mismatch.Expected, StringComparison.Ordinal);
        Assert.Contains("credits_posted=801", mismatch.Actual, StringComparison.Ordinal);
        Assert.Contains(violations, v => v.Invariant == "total_debits_equal_total_credits" && v.Subject == "currency EUR");
    }

    /// <summary>Authorize 1000 (pending), capture 800 (post), refund 100 (reversing posted transfer).</summary>
    private static async Task<(long Buyer, long Merchant)> BookAuthorizeCaptureRefundAsync(NpgsqlConnection connection)
    {
        var buyer = await AccountAsync(connection, "buyer");
        var merchant = await AccountAsync(connection, "merchant", flags: DebitsMustNotExceedCredits);
        var hold = await TransferAsync(connection, buyer, merchant, 1000, kind: "pending");
        await TransferAsync(connection, buyer, merchant, 800, kind: "post_pending", pendingId: hold);
        await TransferAsync(connection, merchant, buyer, 100);
        var usdBuyer = await AccountAsync(connection, "buyer", "USD");
        var usdMerchant = await AccountAsync(connection, "merchant", "USD");
        var usdHold = await TransferAsync(connection, usdBuyer, usdMerchant, 50, kind: "pending", currency: "USD");
        await TransferAsync(connection, usdBuyer, usdMerchant, 50, kind: "void_pending", currency: "USD", pendingId: usdHold);
        return (buyer, merchant);
    }
}

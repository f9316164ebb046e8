using Dapper;
using Npgsql;
using Payrail.DevEnvironment;
using Payrail.Testing;
using Xunit;
using static Payrail.Tests.Database.LedgerTestBooks;

namespace Payrail.Tests.Database;

/// <summary>`payrail ledger verify` as an operator runs it: exit code and output.</summary>
public sealed class LedgerVerifyCommandTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task Verify_prints_OK_and_exits_zero_on_consistent_books_then_names_a_tampered_account_and_exits_non_zero()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        long merchant;
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            var buyer = await AccountAsync(connection, "buyer");
            merchant = await AccountAsync(connection, "merchant");
            await TransferAsync(connection, buyer, merchant, 2500);
        }

        var consistent = await RunVerifyAsync(connectionString);
        Assert.Equal(0, consistent.ExitCode);
        Assert.Contains("OK", consistent.Output, StringComparison.Ordinal);

        await using (var superuser = new NpgsqlConnection(postgres.SuperuserConnectionStringFor(connectionString)))
        {
            await superuser.ExecuteAsync(
                "SET session_replication_role = replica; UPDATE ledger_account_balances SET debits_posted = 7 WHERE account_id = @merchant AND stripe = 0",
                new { merchant });
        }
        var tampered = await RunVerifyAsync(connectionString);

        Assert.Equal(1, tampered.ExitCode);
        Assert.Contains($"account {merchant} (merchant:", tampered.Output, StringComparison.Ordinal);
        Assert.Contains("debits_posted=7", tampered.Output, StringComparison.Ordinal);
    }

    private static async Task<OsCommand.Result> RunVerifyAsync(string connectionString)
    {
        var payrail = LocalPlatform.SiblingBinary("Payrail", "payrail.dll");
        var info = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(payrail);
        info.ArgumentList.Add("ledger");
        info.ArgumentList.Add("verify");
        info.Environment["PAYRAIL__Postgres__ConnectionString"] = connectionString;
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(deadline.Token);
        return new OsCommand.Result(process.ExitCode, await output + await error);
    }
}

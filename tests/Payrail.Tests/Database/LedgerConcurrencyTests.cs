using Npgsql;
using Payrail.Testing;
using Xunit;
using static Payrail.Tests.Database.LedgerTestBooks;

namespace Payrail.Tests.Database;

public sealed class LedgerConcurrencyTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task Concurrent_capture_and_void_of_one_hold_resolve_it_exactly_once()
    {
        long buyer, merchant;
        Guid hold;
        await using (var setup = await postgres.OpenAsync())
        {
            buyer = await AccountAsync(setup, "buyer");
            merchant = await AccountAsync(setup, "merchant");
            hold = await TransferAsync(setup, buyer, merchant, 1000, kind: "pending");
        }

        async Task<bool> TryAsync(string kind, long amountMinor)
        {
            await using var connection = await postgres.OpenAsync();
            try
            {
                await TransferAsync(connection, buyer, merchant, amountMinor, kind: kind, pendingId: hold);
                return true;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                return false;
            }
        }

        var outcomes = await Task.WhenAll(
            Enumerable.Range(0, 8).Select(i => i % 2 == 0 ? TryAsync("post_pending", 1000) : TryAsync("void_pending", 1000)));

        Assert.Equal(1, outcomes.Count(ok => ok));
        await using var check = await postgres.OpenAsync();
        var balances = await BalancesAsync(check, buyer);
        Assert.Equal(0, balances.DebitsPending);
        Assert.True(balances.DebitsPosted is 0 or 1000);
    }
}

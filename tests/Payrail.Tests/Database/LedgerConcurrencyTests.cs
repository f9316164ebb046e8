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

    [Fact]
    public async Task Concurrent_refunds_never_take_a_merchant_below_what_it_was_paid_while_payments_keep_arriving()
    {
        long buyer, merchant;
        await using (var setup = await postgres.OpenAsync())
        {
            buyer = await AccountAsync(setup, "buyer", flags: CreditsMustNotExceedDebits);
            merchant = await AccountAsync(setup, "merchant", flags: DebitsMustNotExceedCredits);
            await TransferAsync(setup, buyer, merchant, 1000);
        }
        const int Refunds = 16;

        // Payments (striped, unchecked) and refunds (checked on the sum of every stripe) at the same time.
        async Task<bool> RefundAsync()
        {
            await using var connection = await postgres.OpenAsync();
            try
            {
                await TransferAsync(connection, merchant, buyer, 100);
                return true;
            }
            catch (PostgresException e) when (e.SqlState == Payrail.Ledger.LedgerSqlState.BalanceLimitExceeded)
            {
                return false;
            }
        }
        async Task<bool> PayAsync()
        {
            await using var connection = await postgres.OpenAsync();
            await TransferAsync(connection, buyer, merchant, 1);
            return true;
        }

        var outcomes = await Task.WhenAll(Enumerable.Range(0, Refunds * 2).Select(i => i % 2 == 0 ? RefundAsync() : PayAsync()));

        var refunded = outcomes.Where((_, i) => i % 2 == 0).Count(ok => ok);
        Assert.Equal(10, refunded); // 1000 + 16 paid covers ten refunds of 100, never eleven
        await using var check = await postgres.OpenAsync();
        var balances = await BalancesAsync(check, merchant);
        Assert.Equal(1000 + Refunds, balances.CreditsPosted);
        Assert.Equal(refunded * 100, balances.DebitsPosted);
        Assert.True(balances.DebitsPosted <= balances.CreditsPosted);
    }

    [Fact]
    public async Task Concurrent_transfers_in_both_directions_between_two_accounts_all_apply_without_deadlock()
    {
        long a, b;
        await using (var setup = await postgres.OpenAsync())
        {
            a = await AccountAsync(setup, "merchant");
            b = await AccountAsync(setup, "merchant");
        }
        const int TransfersPerDirection = 10;

        async Task MoveAsync(long debit, long credit)
        {
            await using var connection = await postgres.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            // Two legs in one transaction, opposite order per direction: the classic deadlock shape without ordered locking.
            await TransferAsync(connection, debit, credit, 10);
            await TransferAsync(connection, credit, debit, 3);
            await transaction.CommitAsync();
        }

        await Task.WhenAll(Enumerable.Range(0, TransfersPerDirection * 2).Select(i => i % 2 == 0 ? MoveAsync(a, b) : MoveAsync(b, a)));

        await using var check = await postgres.OpenAsync();
        var balancesA = await BalancesAsync(check, a);
        Assert.Equal(TransfersPerDirection * 13, balancesA.DebitsPosted);
        Assert.Equal(TransfersPerDirection * 13, balancesA.CreditsPosted);
    }
}

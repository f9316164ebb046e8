using Dapper;
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

    [Theory]
    [InlineData("ON CONFLICT (id) DO NOTHING")]
    [InlineData("")]
    public async Task A_transfer_reposted_with_its_id_and_the_same_fields_changes_nothing(string onConflict)
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer");
        var merchant = await AccountAsync(connection, "merchant");
        var payment = await PaymentAsync(connection);
        var hold = await TransferAsync(connection, buyer, merchant, 1000, kind: "pending", paymentId: payment);
        var capture = await TransferAsync(connection, buyer, merchant, 600, kind: "post_pending", pendingId: hold, paymentId: payment);
        var refund = await TransferAsync(connection, merchant, buyer, 100, paymentId: payment);
        var count = await TransferCountAsync(connection);

        // A resumed flow re-posts its deterministic ids: every kind, every field as before.
        await TransferAsync(connection, buyer, merchant, 1000, kind: "pending", id: hold, paymentId: payment, onConflict: onConflict);
        await TransferAsync(connection, buyer, merchant, 600, kind: "post_pending", pendingId: hold, id: capture, paymentId: payment, onConflict: onConflict);
        await TransferAsync(connection, merchant, buyer, 100, id: refund, paymentId: payment, onConflict: onConflict);

        Assert.Equal(count, await TransferCountAsync(connection));
        Assert.Equal(new Balances(0, 600, 0, 100), await BalancesAsync(connection, buyer));
        Assert.Equal(new Balances(0, 100, 0, 600), await BalancesAsync(connection, merchant));
    }

    // TigerBeetle's exists_with_different_fields (LedgerBook: TransferResult.ExistsWithDifferentFields): skipping it
    // would let the caller believe that, say, a capture of 500 was booked when 600 stands.
    [Theory]
    [InlineData("amount_minor")]
    [InlineData("debit_account_id")]
    [InlineData("credit_account_id")]
    [InlineData("currency")]
    [InlineData("kind")]
    [InlineData("pending_id")]
    [InlineData("payment_id")]
    [InlineData("journal_entry_id")]
    public async Task A_transfer_reposted_with_its_id_and_another_field_is_refused(string field)
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer");
        var merchant = await AccountAsync(connection, "merchant");
        var otherBuyer = await AccountAsync(connection, "buyer");
        var otherMerchant = await AccountAsync(connection, "merchant");
        var payment = await PaymentAsync(connection);
        var hold = await TransferAsync(connection, buyer, merchant, 1000, kind: "pending");
        var otherHold = await TransferAsync(connection, buyer, merchant, 1000, kind: "pending");
        var capture = await TransferAsync(connection, buyer, merchant, 600, kind: "post_pending", pendingId: hold, paymentId: payment);
        var stored = await StoredTransferAsync(connection, capture);
        var count = await TransferCountAsync(connection);
        var balances = await AllBalancesAsync(connection, buyer, merchant, otherBuyer, otherMerchant);

        var refused = await Assert.ThrowsAsync<PostgresException>(() => field switch
        {
            "amount_minor" => TransferAsync(connection, buyer, merchant, 500, kind: "post_pending", pendingId: hold, id: capture, paymentId: payment),
            "debit_account_id" => TransferAsync(connection, otherBuyer, merchant, 600, kind: "post_pending", pendingId: hold, id: capture, paymentId: payment),
            "credit_account_id" => TransferAsync(connection, buyer, otherMerchant, 600, kind: "post_pending", pendingId: hold, id: capture, paymentId: payment),
            "currency" => TransferAsync(connection, buyer, merchant, 600, kind: "post_pending", currency: "USD", pendingId: hold, id: capture, paymentId: payment),
            "kind" => TransferAsync(connection, buyer, merchant, 600, kind: "void_pending", pendingId: hold, id: capture, paymentId: payment),
            "pending_id" => TransferAsync(connection, buyer, merchant, 600, kind: "post_pending", pendingId: otherHold, id: capture, paymentId: payment),
            "payment_id" => TransferAsync(connection, buyer, merchant, 600, kind: "post_pending", pendingId: hold, id: capture),
            "journal_entry_id" => TransferAsync(connection, buyer, merchant, 600, kind: "post_pending", pendingId: hold, id: capture, paymentId: payment,
                journalEntryId: Guid.NewGuid()),
            _ => throw new ArgumentOutOfRangeException(nameof(field), field, "unknown transfer field"),
        });

        Assert.Equal(LedgerSqlState.TransferExistsWithDifferentFields, refused.SqlState);
        Assert.Equal(stored, await StoredTransferAsync(connection, capture));
        Assert.Equal(count, await TransferCountAsync(connection));
        Assert.Equal(balances, await AllBalancesAsync(connection, buyer, merchant, otherBuyer, otherMerchant));
    }

    // An account's balance is spread over 16 stripes (0007): each could fit while their sum did not, and the account
    // became unreadable. Found by LedgerModelEquivalenceTests; the model refuses with overflow.
    [Fact]
    public async Task A_transfer_that_takes_an_account_total_past_the_largest_bigint_is_refused()
    {
        await using var connection = await postgres.OpenAsync();
        var buyer = await AccountAsync(connection, "buyer", flags: CreditsMustNotExceedDebits);
        var merchant = await AccountAsync(connection, "merchant", flags: DebitsMustNotExceedCredits);
        const long quarter = long.MaxValue / 4;
        for (var i = 0; i < 3; i++) await TransferAsync(connection, buyer, merchant, quarter); // fits: spread over the stripes
        var count = await TransferCountAsync(connection);

        var refused = await Assert.ThrowsAsync<PostgresException>(() => TransferAsync(connection, buyer, merchant, quarter + 4));

        Assert.Equal(PostgresErrorCodes.NumericValueOutOfRange, refused.SqlState);
        Assert.Equal(count, await TransferCountAsync(connection));
        Assert.Equal(new Balances(0, 3 * quarter, 0, 0), await BalancesAsync(connection, buyer));
        Assert.Equal(new Balances(0, 0, 0, 3 * quarter), await BalancesAsync(connection, merchant));
        await TransferAsync(connection, merchant, buyer, 3 * quarter); // the account still reads and checks its flags
        Assert.Equal(new Balances(0, 3 * quarter, 0, 3 * quarter), await BalancesAsync(connection, merchant));
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

    private static async Task<Guid> PaymentAsync(NpgsqlConnection connection)
    {
        var payment = Guid.NewGuid();
        await connection.ExecuteAsync(
            """
            INSERT INTO merchants (id, name) VALUES ('m_ledger', 'Ledger') ON CONFLICT DO NOTHING;
            INSERT INTO payments (id, merchant_id, buyer_id, amount_minor, currency, status) VALUES (@payment, 'm_ledger', 'b_ledger', 1000, 'EUR', 'initiated');
            """, new { payment });
        return payment;
    }

    private static async Task<List<Balances>> AllBalancesAsync(NpgsqlConnection connection, params long[] accounts)
    {
        var balances = new List<Balances>();
        foreach (var account in accounts) balances.Add(await BalancesAsync(connection, account));
        return balances;
    }

    private static Task<string> StoredTransferAsync(NpgsqlConnection connection, Guid id) =>
        connection.QuerySingleAsync<string>("SELECT t::text FROM ledger_transfers t WHERE id = @id", new { id });

    private static async Task AssertRefusedAsync(NpgsqlConnection connection, string sqlState, Func<Task> transfer, params long[] accounts)
    {
        var count = await TransferCountAsync(connection);
        var refused = await Assert.ThrowsAsync<PostgresException>(transfer);
        Assert.Equal(sqlState, refused.SqlState);
        Assert.Equal(count, await TransferCountAsync(connection));
        foreach (var account in accounts) Assert.Equal(Zero, await BalancesAsync(connection, account));
    }
}

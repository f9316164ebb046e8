using Dapper;
using Npgsql;
using Payrail.Domain.Payments;
using Payrail.Idempotency;
using Payrail.Payments;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Payments;

public sealed class PaymentStoreTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private const string Counts = """
        SELECT (SELECT count(*) FROM payment_transitions) || '/' || (SELECT count(*) FROM outbox) || '/' ||
               (SELECT count(*) FROM ledger_transfers) || '/' || (SELECT string_agg(status || ':' || coalesce(response_body, ''), ',') FROM idempotency_keys)
               || '/' || (SELECT string_agg(status || ':' || version, ',') FROM payments)
        """;

    [Fact]
    public async Task Transaction_2_planned_on_a_stale_version_writes_nothing_of_its_batch()
    {
        await using var database = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await using (var seed = await database.OpenConnectionAsync())
            await seed.ExecuteAsync("INSERT INTO merchants (id, name) VALUES ('m_store', 'Store')");
        var store = TestPaymentStores.For(database);
        var now = PaymentRecord.ToDatabasePrecision(DateTimeOffset.UtcNow);
        var payment = new PaymentRecord(Guid.CreateVersion7(now), "m_store", "buyer_store", 1500, "EUR", PaymentStatus.Initiated,
            CaptureMethod.Automatic, null, null, 0, 0, null, null, null, new Dictionary<string, string>(), 1, now, now);
        var key = new IdempotencyKey("m_store:POST /v1/payments", "key-1");
        Assert.True(await store.RecordIntentAsync(payment, key, "fingerprint", now.AddSeconds(30), now.AddDays(1),
            PaymentChange.Event("payment.initiated", payment, null, now)));
        var captured = new PspOutcome(PaymentEvent.Captured, "pi_store", 1500, null, null);
        Assert.True(await store.ApplyAsync(PaymentChange.Plan(payment, captured, "stripe", "psp.authorize", now)!, key, 201, "{\"first\":true}"));
        await using var connection = await database.OpenConnectionAsync();
        var before = await connection.QuerySingleAsync<string>(Counts);

        // Planned from version 1 again: the conditional update matches no row, and the rest of the batch must not land either.
        var stale = PaymentChange.Plan(payment with { }, new PspOutcome(PaymentEvent.Failed, "pi_store", 0, "declined", "no"), "stripe", "psp.authorize", now)!;
        Assert.False(await store.ApplyAsync(stale, key, 402, "{\"second\":true}"));

        Assert.Equal(before, await connection.QuerySingleAsync<string>(Counts));
        Assert.Contains("completed:", before, StringComparison.Ordinal);
        Assert.Contains("first", before, StringComparison.Ordinal);
    }

    /// <summary>Every ledger account with its four balance columns, and the ledger's row counts.</summary>
    private const string Ledger = """
        SELECT (SELECT count(*) FROM ledger_accounts) || '/' || (SELECT count(*) FROM ledger_transfers) || '/' ||
               coalesce((SELECT string_agg(owner || ':' || currency || ':' || debits_pending || ':' || debits_posted || ':'
                                           || credits_pending || ':' || credits_posted, ',' ORDER BY id) FROM ledger_account_totals), '')
        """;

    [Theory]
    [InlineData(false)] // the batch creates the accounts and looks their ids up
    [InlineData(true)]  // the store already knows every account id
    public async Task Transaction_2_planned_on_a_stale_version_posts_no_ledger_entries_and_moves_no_balance(bool accountsKnown)
    {
        await using var database = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await using (var seed = await database.OpenConnectionAsync())
            await seed.ExecuteAsync("INSERT INTO merchants (id, name) VALUES ('m_store', 'Store')");
        var store = TestPaymentStores.For(database);
        var now = PaymentRecord.ToDatabasePrecision(DateTimeOffset.UtcNow);
        if (accountsKnown)
        {
            // An earlier payment of the same buyer to the same merchant: its accounts exist and the store has their ids.
            var earlier = await RecordIntentAsync(store, "key-earlier", now);
            Assert.True(await store.ApplyAsync(PaymentChange.Plan(earlier, new PspOutcome(PaymentEvent.Captured, "pi_earlier", 1500, null, null),
                "stripe", "psp.authorize", now)!, null, 0, null));
        }
        var payment = await RecordIntentAsync(store, "key-1", now);
        // Someone else moved the payment first (version 2, processing), without touching the ledger.
        Assert.True(await store.ApplyAsync(PaymentChange.Plan(payment, PspOutcome.Unknown, "stripe", "psp.authorize", now)!, null, 0, null));
        await using var connection = await database.OpenConnectionAsync();
        var before = (await connection.QuerySingleAsync<string>(Counts), await connection.QuerySingleAsync<string>(Ledger));

        // Planned from version 1: a captured payment posts a transfer buyer → merchant, announces it and completes the key.
        var stale = PaymentChange.Plan(payment, new PspOutcome(PaymentEvent.Captured, "pi_store", 1500, null, null), "stripe", "psp.authorize", now)!;
        Assert.NotEmpty(stale.JournalEntries);
        Assert.NotEmpty(stale.Events);
        Assert.False(await store.ApplyAsync(stale, new IdempotencyKey("m_store:POST /v1/payments", "key-1"), 201, "{\"stale\":true}"));

        Assert.Equal(before, (await connection.QuerySingleAsync<string>(Counts), await connection.QuerySingleAsync<string>(Ledger)));
        Assert.Equal(0, await connection.QuerySingleAsync<long>("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", new { id = payment.Id }));
        Assert.Equal(1, await connection.QuerySingleAsync<long>("SELECT count(*) FROM outbox WHERE aggregate_id = @id", new { id = payment.Id }));
        Assert.Equal(2, await connection.QuerySingleAsync<long>("SELECT count(*) FROM payment_transitions WHERE payment_id = @id", new { id = payment.Id }));
    }

    private static async Task<PaymentRecord> RecordIntentAsync(PaymentStore store, string key, DateTimeOffset now)
    {
        var payment = new PaymentRecord(Guid.CreateVersion7(now), "m_store", "buyer_store", 1500, "EUR", PaymentStatus.Initiated,
            CaptureMethod.Automatic, null, null, 0, 0, null, null, null, new Dictionary<string, string>(), 1, now, now);
        Assert.True(await store.RecordIntentAsync(payment, new IdempotencyKey("m_store:POST /v1/payments", key), "fingerprint",
            now.AddSeconds(30), now.AddDays(1), PaymentChange.Event("payment.initiated", payment, null, now)));
        return payment;
    }
}

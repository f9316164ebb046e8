using Dapper;
using Microsoft.Extensions.Options;
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
        var store = new PaymentStore(database, Options.Create(new IdempotencyOptions()), TimeProvider.System);
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
}

using Npgsql;
using Payrail.Consumers;
using Payrail.Consumers.Dashboard;
using Payrail.Outbox;
using Payrail.Testing;
using Payrail.Tests.Consumers;
using Xunit;

namespace Payrail.Tests.Dashboard;

/// <summary>
/// The merchant-dashboard handler's batch (one statement however many events) writes what the handler's statement of
/// one event (as it was before batches, kept here as the reference) writes one event at a time: the same rows, the same
/// stream numbers, the same log, with rows another group moved ahead and events arriving late.
/// </summary>
public sealed class DashboardBatchTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly DashboardHandler Handler = new(new ConsumersOptions(), new DashboardFeed(new ConsumersOptions()));
    private static readonly DashboardHandler OtherGroup =
        new(new ConsumersOptions { Dashboard = { InstanceId = "other" } }, new DashboardFeed(new ConsumersOptions()));

    [Fact]
    public async Task A_batch_writes_the_rows_stream_numbers_and_log_that_one_event_at_a_time_writes()
    {
        var (before, batch) = Scenario(new Random(20261201));

        var oneByOne = await postgres.CreateDatabaseAsync();
        var batched = await postgres.CreateDatabaseAsync();
        foreach (var database in new[] { oneByOne, batched })
            foreach (var e in before) await ApplyAsync(database, OtherGroup, [e]);
        foreach (var e in batch) await ApplyOneAtATimeAsync(oneByOne, e);
        await ApplyAsync(batched, Handler, batch);

        var expected = await ProjectionAsync(oneByOne);
        Assert.Contains("stream m_batch_0 ", expected, StringComparison.Ordinal);
        Assert.Equal(expected, await ProjectionAsync(batched));
    }

    /// <summary>
    /// Forty payments of three merchants, their events interleaved (each payment's in order, as a partition keeps them),
    /// some refunded. Before the batch another group applied some payments' events already: all of them (the batch's copies
    /// move the row again but log nothing new), the start of some (the batch continues them), or a refund, so the batch's
    /// earlier versions of that payment arrive late and must not move the row back or be logged.
    /// </summary>
    private static (List<OutboxEvent> Before, List<OutboxEvent> Batch) Scenario(Random random)
    {
        var before = new List<OutboxEvent>();
        var lives = new List<Queue<OutboxEvent>>();
        for (var i = 0; i < 40; i++)
        {
            var payment = Guid.CreateVersion7();
            var merchant = "m_batch_" + random.Next(3);
            var life = TestEvents.Completed(payment, merchant, "b_batch").ToList();
            if (random.Next(3) == 0) life.Add(TestEvents.Refunded(payment, merchant, "b_batch"));
            switch (i % 4)
            {
                case 1:
                    before.AddRange(life);
                    break;
                case 2:
                    before.AddRange(life.Take(random.Next(1, life.Count)));
                    break;
                case 3:
                    before.Add(TestEvents.Refunded(payment, merchant, "b_batch"));
                    break;
            }
            lives.Add(new Queue<OutboxEvent>(life));
        }
        var batch = new List<OutboxEvent>();
        while (lives.Any(l => l.Count > 0))
        {
            var open = lives.Where(l => l.Count > 0).ToList();
            batch.Add(open[random.Next(open.Count)].Dequeue());
        }
        return (before, batch);
    }

    private static async Task ApplyAsync(string connectionString, DashboardHandler handler, IReadOnlyList<OutboxEvent> events)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await handler.ApplyAsync(transaction, events, CancellationToken.None);
        await transaction.CommitAsync();
    }

    /// <summary>The handler's statement of one event before batches (one statement per event, in order).</summary>
    private const string OneEventSql = """
        WITH moved AS (
            INSERT INTO dashboard_payments AS d (payment_id, merchant_id, buyer_id, status, amount_minor, currency,
                amount_captured_minor, amount_refunded_minor, payment_version, last_event_type, updated_at)
            VALUES (@payment_id, @merchant_id, @buyer_id, @status, @amount, @currency, @captured, @refunded, @version, @type, @at)
            ON CONFLICT (payment_id) DO UPDATE SET status = excluded.status, amount_captured_minor = excluded.amount_captured_minor,
                amount_refunded_minor = excluded.amount_refunded_minor, payment_version = excluded.payment_version,
                last_event_type = excluded.last_event_type, updated_at = excluded.updated_at
            WHERE d.payment_version <= excluded.payment_version
            RETURNING payment_id),
        numbered AS (
            INSERT INTO dashboard_streams AS s (merchant_id, last_seq) SELECT @merchant_id, 1 FROM moved
            ON CONFLICT (merchant_id) DO UPDATE SET last_seq = s.last_seq + 1
            RETURNING last_seq)
        INSERT INTO dashboard_updates (merchant_id, seq, event_id, event_type, payment_id, buyer_id, status, amount_minor,
            currency, amount_captured_minor, amount_refunded_minor, payment_version, occurred_at)
        SELECT @merchant_id, last_seq, @event_id, @type, @payment_id, @buyer_id, @status, @amount, @currency, @captured,
            @refunded, @version, @at FROM numbered
        ON CONFLICT (event_id) DO NOTHING
        """;

    private static async Task ApplyOneAtATimeAsync(string connectionString, OutboxEvent e)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(OneEventSql, connection);
        var p = e.Payment;
        command.Parameters.AddWithValue("payment_id", e.PaymentId);
        command.Parameters.AddWithValue("event_id", e.Id);
        command.Parameters.AddWithValue("merchant_id", p.MerchantId);
        command.Parameters.AddWithValue("buyer_id", p.BuyerId);
        command.Parameters.AddWithValue("status", p.Status);
        command.Parameters.AddWithValue("amount", p.AmountMinor);
        command.Parameters.AddWithValue("currency", p.Currency);
        command.Parameters.AddWithValue("captured", p.AmountCapturedMinor);
        command.Parameters.AddWithValue("refunded", p.AmountRefundedMinor);
        command.Parameters.AddWithValue("version", e.PaymentVersion);
        command.Parameters.AddWithValue("type", e.Type);
        command.Parameters.AddWithValue("at", e.OccurredAt);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Every row, log entry and stream counter, one line each (the log's own recording time left out).</summary>
    private static async Task<string> ProjectionAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT string_agg(line, E'\n' ORDER BY line) FROM (
              SELECT concat_ws(' ', 'row', payment_id, merchant_id, buyer_id, status, amount_minor, currency, amount_captured_minor,
                       amount_refunded_minor, payment_version, last_event_type, updated_at) AS line FROM dashboard_payments
              UNION ALL SELECT concat_ws(' ', 'log', merchant_id, lpad(seq::text, 6, '0'), event_id, event_type, payment_id, buyer_id,
                       status, amount_minor, currency, amount_captured_minor, amount_refunded_minor, payment_version, occurred_at)
                FROM dashboard_updates
              UNION ALL SELECT concat_ws(' ', 'stream', merchant_id, last_seq, pruned_through) FROM dashboard_streams) AS lines
            """, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }
}

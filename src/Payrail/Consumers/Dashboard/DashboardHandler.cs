using Npgsql;
using Payrail.Outbox;

namespace Payrail.Consumers.Dashboard;

/// <summary>
/// <c>merchant-dashboard</c>: keeps one live-view row per payment in <c>dashboard_payments</c>, moved only forward by
/// payment version (so any number of groups may write it and agree), and after the commit fans the update out to this
/// process's subscribers (<see cref="DashboardFeed"/>). With <c>Consumers:Dashboard:InstanceId</c> set, the group and
/// inbox are per instance, so every dashboard instance sees every event (README "Consumers").
/// </summary>
public sealed class DashboardHandler(ConsumersOptions options, DashboardFeed feed) : IEventHandler
{
    public const string ConsumerName = "merchant-dashboard";

    /// <summary>The PostgreSQL channel announcing a merchant's new stream rows (payload: the merchant id).</summary>
    public const string StreamChannel = "payrail_dashboard";

    public string Name { get; } = options.Dashboard.InstanceId is { Length: > 0 } instance ? $"{ConsumerName}.{instance}" : ConsumerName;

    private const string StreamAppendSql = $"""
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
            RETURNING last_seq),
        logged AS (
            INSERT INTO dashboard_updates (merchant_id, seq, event_id, event_type, payment_id, buyer_id, status, amount_minor,
                currency, amount_captured_minor, amount_refunded_minor, payment_version, occurred_at)
            SELECT @merchant_id, last_seq, @event_id, @type, @payment_id, @buyer_id, @status, @amount, @currency, @captured,
                @refunded, @version, @at FROM numbered
            ON CONFLICT (event_id) DO NOTHING
            RETURNING merchant_id)
        SELECT pg_notify('{StreamChannel}', merchant_id) FROM logged
        """;

    public bool Handles(string type) => type.StartsWith("payment.", StringComparison.Ordinal);

    public async Task ApplyAsync(NpgsqlTransaction transaction, IReadOnlyList<OutboxEvent> events, CancellationToken cancellationToken)
    {
        // ">=": a change's events share its version (captured and completed), the later one in the partition wins.
        // A row that moved is appended to its merchant's stream log under the next number of dashboard_streams (whose
        // row lock orders a merchant's appends in commit order, migration 0020), once per event id whichever group
        // applies it, and announced to the dashboard instances by NOTIFY, which PostgreSQL delivers at commit.
        // One statement per event, in order, all in one round trip: the log gets each move as one-by-one would give it.
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction);
        foreach (var e in events)
        {
            var p = e.Payment;
            var command = new NpgsqlBatchCommand(StreamAppendSql);
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
            batch.BatchCommands.Add(command);
        }
        if (batch.BatchCommands.Count == 0) return;
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Live updates are best effort: a redelivery is not fanned out again (a subscriber reloads rows on reconnect).</summary>
    public Task AfterCommitAsync(IReadOnlyList<CommittedEvent> events, CancellationToken cancellationToken)
    {
        foreach (var (e, redelivered) in events)
            if (!redelivered)
                feed.Publish(new DashboardUpdate(e.Id, e.Type, e.PaymentId, e.Payment.MerchantId, e.Payment.Status, e.Payment.AmountMinor,
                    e.Payment.Currency, e.PaymentVersion, e.OccurredAt));
        return Task.CompletedTask;
    }
}

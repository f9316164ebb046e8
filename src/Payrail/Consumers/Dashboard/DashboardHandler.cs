using Npgsql;
using NpgsqlTypes;
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

    public string Name { get; } = options.Dashboard.InstanceId is { Length: > 0 } instance ? $"{ConsumerName}.{instance}" : ConsumerName;

    public bool Handles(string type) => type.StartsWith("payment.", StringComparison.Ordinal);

    public async Task ApplyAsync(NpgsqlTransaction transaction, IReadOnlyList<OutboxEvent> events, CancellationToken cancellationToken)
    {
        var rows = LatestPerPayment(events);
        // ">=": a change's events share its version (captured and completed), the later one in the partition wins.
        await using var command = new NpgsqlCommand("""
            INSERT INTO dashboard_payments AS d (payment_id, merchant_id, buyer_id, status, amount_minor, currency,
                amount_captured_minor, amount_refunded_minor, payment_version, last_event_type, updated_at)
            SELECT * FROM unnest(@payment_ids, @merchant_ids, @buyer_ids, @statuses, @amounts, @currencies, @captured, @refunded,
                @versions, @types, @ats)
            ON CONFLICT (payment_id) DO UPDATE SET status = excluded.status, amount_captured_minor = excluded.amount_captured_minor,
                amount_refunded_minor = excluded.amount_refunded_minor, payment_version = excluded.payment_version,
                last_event_type = excluded.last_event_type, updated_at = excluded.updated_at
            WHERE d.payment_version <= excluded.payment_version
            """, transaction.Connection, transaction);
        Add(command, "payment_ids", NpgsqlDbType.Uuid, rows.Select(e => e.PaymentId));
        Add(command, "merchant_ids", NpgsqlDbType.Text, rows.Select(e => e.Payment.MerchantId));
        Add(command, "buyer_ids", NpgsqlDbType.Text, rows.Select(e => e.Payment.BuyerId));
        Add(command, "statuses", NpgsqlDbType.Text, rows.Select(e => e.Payment.Status));
        Add(command, "amounts", NpgsqlDbType.Bigint, rows.Select(e => e.Payment.AmountMinor));
        Add(command, "currencies", NpgsqlDbType.Text, rows.Select(e => e.Payment.Currency));
        Add(command, "captured", NpgsqlDbType.Bigint, rows.Select(e => e.Payment.AmountCapturedMinor));
        Add(command, "refunded", NpgsqlDbType.Bigint, rows.Select(e => e.Payment.AmountRefundedMinor));
        Add(command, "versions", NpgsqlDbType.Integer, rows.Select(e => e.PaymentVersion));
        Add(command, "types", NpgsqlDbType.Text, rows.Select(e => e.Type));
        Add(command, "ats", NpgsqlDbType.TimestampTz, rows.Select(e => e.OccurredAt));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Per payment, the event the row ends with when the events are upserted one by one in order (a later event wins
    /// unless its version is lower): one statement cannot upsert a row twice.
    /// </summary>
    public static List<OutboxEvent> LatestPerPayment(IReadOnlyList<OutboxEvent> events)
    {
        var latest = new Dictionary<Guid, OutboxEvent>();
        foreach (var e in events)
            if (!latest.TryGetValue(e.PaymentId, out var current) || current.PaymentVersion <= e.PaymentVersion) latest[e.PaymentId] = e;
        return [.. latest.Values];
    }

    private static void Add<T>(NpgsqlCommand command, string name, NpgsqlDbType type, IEnumerable<T> values) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | type) { Value = values.ToArray() });

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

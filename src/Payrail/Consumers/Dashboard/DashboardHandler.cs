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

    /// <summary>The PostgreSQL channel announcing a merchant's new stream rows (payload: the merchant id).</summary>
    public const string StreamChannel = "payrail_dashboard";

    public string Name { get; } = options.Dashboard.InstanceId is { Length: > 0 } instance ? $"{ConsumerName}.{instance}" : ConsumerName;

    /// <summary>
    /// The batch's events in one statement, as one at a time in their order would write them (migration 0020):
    /// <list type="bullet">
    /// <item><c>stored</c> locks the batch's existing rows (in payment order, so two groups' batches cannot deadlock) and
    /// reads their versions, as the one-by-one upsert did under the same lock.</item>
    /// <item>An event moves its row when its version is at least the row's as it stands before it: the stored version or
    /// a version of the batch's earlier events of that payment (">=": a change's events share its version, captured and
    /// completed, and the later one in the partition wins). One by one, an event that did not move had a lower version
    /// than the row, so the row before an event is the greatest of the two.</item>
    /// <item>Each row takes its last moving event; each merchant's stream number grows by its moving events, which get
    /// the numbers in their order; a log row per moving event, once per event id whichever group applies it (an append
    /// refused by the key still took its number, as before); one NOTIFY per merchant (PostgreSQL folds a transaction's
    /// equal notifications into one anyway).</item>
    /// </list>
    /// One statement per event before: the largest share of the consumers' PostgreSQL time (README "PostgreSQL CPU per
    /// payment"). Only a row another group inserts after <c>stored</c> read (the two groups' first event of a payment at
    /// once) is decided without its version: the upsert's own guard still keeps it from moving back, and its events were
    /// logged by that group, so the log only skips numbers.
    /// </summary>
    private const string StreamAppendSql = $"""
        WITH e AS (
            SELECT * FROM unnest(@event_ids, @payment_ids, @merchant_ids, @buyer_ids, @statuses, @amounts, @currencies,
                @captured, @refunded, @versions, @types, @ats) WITH ORDINALITY
                AS e(event_id, payment_id, merchant_id, buyer_id, status, amount_minor, currency, captured, refunded, version, type, at, n)),
        stored AS (
            SELECT d.payment_id, d.payment_version FROM dashboard_payments d
            WHERE d.payment_id = ANY(@payment_ids)
            ORDER BY d.payment_id
            FOR UPDATE),
        moving AS (
            SELECT e.* FROM (
                SELECT e.*, max(e.version) OVER (PARTITION BY e.payment_id ORDER BY e.n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS earlier
                FROM e) AS e
            LEFT JOIN stored s ON s.payment_id = e.payment_id
            WHERE e.version >= greatest(s.payment_version, e.earlier) OR greatest(s.payment_version, e.earlier) IS NULL),
        moved AS (
            INSERT INTO dashboard_payments AS d (payment_id, merchant_id, buyer_id, status, amount_minor, currency,
                amount_captured_minor, amount_refunded_minor, payment_version, last_event_type, updated_at)
            SELECT DISTINCT ON (payment_id) payment_id, merchant_id, buyer_id, status, amount_minor, currency, captured, refunded,
                version, type, at
            FROM moving ORDER BY payment_id, n DESC
            ON CONFLICT (payment_id) DO UPDATE SET status = excluded.status, amount_captured_minor = excluded.amount_captured_minor,
                amount_refunded_minor = excluded.amount_refunded_minor, payment_version = excluded.payment_version,
                last_event_type = excluded.last_event_type, updated_at = excluded.updated_at
            WHERE d.payment_version <= excluded.payment_version),
        appends AS (
            SELECT merchant_id, count(*) AS appended FROM moving GROUP BY merchant_id),
        numbered AS (
            INSERT INTO dashboard_streams AS s (merchant_id, last_seq)
            SELECT merchant_id, appended FROM appends ORDER BY merchant_id
            ON CONFLICT (merchant_id) DO UPDATE SET last_seq = s.last_seq + excluded.last_seq
            RETURNING merchant_id, last_seq),
        logged AS (
            INSERT INTO dashboard_updates (merchant_id, seq, event_id, event_type, payment_id, buyer_id, status, amount_minor,
                currency, amount_captured_minor, amount_refunded_minor, payment_version, occurred_at)
            SELECT m.merchant_id, nb.last_seq - a.appended + row_number() OVER (PARTITION BY m.merchant_id ORDER BY m.n),
                m.event_id, m.type, m.payment_id, m.buyer_id, m.status, m.amount_minor, m.currency, m.captured, m.refunded,
                m.version, m.at
            FROM moving m JOIN numbered nb ON nb.merchant_id = m.merchant_id JOIN appends a ON a.merchant_id = m.merchant_id
            ORDER BY m.n
            ON CONFLICT (event_id) DO NOTHING
            RETURNING merchant_id)
        SELECT pg_notify('{StreamChannel}', merchant_id) FROM (SELECT DISTINCT merchant_id FROM logged) AS announced
        """;

    public bool Handles(string type) => type.StartsWith("payment.", StringComparison.Ordinal);

    public async Task ApplyAsync(NpgsqlTransaction transaction, IReadOnlyList<OutboxEvent> events, CancellationToken cancellationToken)
    {
        // A row that moved is appended to its merchant's stream log under the next numbers of dashboard_streams (whose
        // row lock orders a merchant's appends in commit order, migration 0020) and announced to the dashboard instances
        // by NOTIFY, which PostgreSQL delivers at commit.
        if (events.Count == 0) return;
        await using var command = new NpgsqlCommand(StreamAppendSql, transaction.Connection, transaction);
        Add(command, "event_ids", NpgsqlDbType.Uuid, events.Select(e => e.Id));
        Add(command, "payment_ids", NpgsqlDbType.Uuid, events.Select(e => e.PaymentId));
        Add(command, "merchant_ids", NpgsqlDbType.Text, events.Select(e => e.Payment.MerchantId));
        Add(command, "buyer_ids", NpgsqlDbType.Text, events.Select(e => e.Payment.BuyerId));
        Add(command, "statuses", NpgsqlDbType.Text, events.Select(e => e.Payment.Status));
        Add(command, "amounts", NpgsqlDbType.Bigint, events.Select(e => e.Payment.AmountMinor));
        Add(command, "currencies", NpgsqlDbType.Text, events.Select(e => e.Payment.Currency));
        Add(command, "captured", NpgsqlDbType.Bigint, events.Select(e => e.Payment.AmountCapturedMinor));
        Add(command, "refunded", NpgsqlDbType.Bigint, events.Select(e => e.Payment.AmountRefundedMinor));
        Add(command, "versions", NpgsqlDbType.Integer, events.Select(e => e.PaymentVersion));
        Add(command, "types", NpgsqlDbType.Text, events.Select(e => e.Type));
        Add(command, "ats", NpgsqlDbType.TimestampTz, events.Select(e => e.OccurredAt));
        await command.ExecuteNonQueryAsync(cancellationToken);
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

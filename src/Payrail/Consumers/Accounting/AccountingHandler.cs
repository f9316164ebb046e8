using Npgsql;
using NpgsqlTypes;
using Payrail.Outbox;

namespace Payrail.Consumers.Accounting;

/// <summary>
/// <c>accounting</c>: each capture, each refund (partial ones each their own) and each reversal of a refund that had
/// succeeded (a <c>refund_reversal</c> line of that refund's amount: the day's books record the money coming back, the
/// refund's own line stays in its day) becomes one line of its day's settlement (UTC date of the
/// event), stored in <c>settlement_lines</c>; after the commit the day's file <c>.payrail/settlement/YYYY-MM-DD.csv</c>
/// is rewritten whole from the table by <see cref="SettlementFileWriter"/>, at most once per MinFileIntervalMs per day,
/// so a redelivery rewrites the same text and never adds a line.
/// </summary>
public sealed class AccountingHandler(NpgsqlDataSource database, ConsumersOptions options, TimeProvider clock) : IEventHandler
{
    public const string ConsumerName = "accounting";

    private readonly SettlementFileWriter _files = new(database, options.Accounting, clock);

    public string Name => ConsumerName;

    public bool Handles(string type) => type is EventTypes.PaymentCaptured or EventTypes.PaymentRefunded or EventTypes.PaymentRefundReversed;

    public static DateOnly SettlementDate(OutboxEvent e) => DateOnly.FromDateTime(e.OccurredAt.UtcDateTime);

    public async Task ApplyAsync(NpgsqlTransaction transaction, IReadOnlyList<OutboxEvent> events, CancellationToken cancellationToken)
    {
        var amounts = events.Select(AmountOf).ToArray();
        // One statement, rows in the events' order (ids, and so the file's order, as one by one would give them).
        await using var command = new NpgsqlCommand("""
            INSERT INTO settlement_lines (event_id, payment_id, kind, settlement_date, merchant_id, currency, amount_minor, occurred_at, refund_id)
            SELECT l.event_id, l.payment_id, l.kind, l.settlement_date, l.merchant_id, l.currency, l.amount_minor, l.occurred_at, l.refund_id
            FROM unnest(@event_ids, @payment_ids, @kinds, @dates, @merchant_ids, @currencies, @amounts, @ats, @refund_ids) WITH ORDINALITY
                AS l(event_id, payment_id, kind, settlement_date, merchant_id, currency, amount_minor, occurred_at, refund_id, n)
            ORDER BY l.n
            ON CONFLICT DO NOTHING
            """, transaction.Connection, transaction);
        Add(command, "event_ids", NpgsqlDbType.Uuid, events.Select(e => e.Id));
        Add(command, "payment_ids", NpgsqlDbType.Uuid, events.Select(e => e.PaymentId));
        Add(command, "kinds", NpgsqlDbType.Text, events.Select(KindOf));
        Add(command, "dates", NpgsqlDbType.Date, events.Select(SettlementDate));
        Add(command, "merchant_ids", NpgsqlDbType.Text, events.Select(e => e.Payment.MerchantId));
        Add(command, "currencies", NpgsqlDbType.Text, events.Select(e => e.Payment.Currency));
        Add(command, "amounts", NpgsqlDbType.Bigint, amounts);
        Add(command, "ats", NpgsqlDbType.TimestampTz, events.Select(e => e.OccurredAt));
        Add(command, "refund_ids", NpgsqlDbType.Uuid, events.Select(e => e.Refund?.Id));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A redelivery marks its day too: a kill between commit and file write is repaired by it.</summary>
    public Task AfterCommitAsync(IReadOnlyList<CommittedEvent> events, CancellationToken cancellationToken) =>
        _files.ChangedAsync(events.Select(c => SettlementDate(c.Event)), cancellationToken);

    public Task FlushAsync(bool final, CancellationToken cancellationToken) => _files.FlushAsync(final, cancellationToken);

    private static string KindOf(OutboxEvent e) => e.Type switch
    {
        EventTypes.PaymentCaptured => "capture",
        EventTypes.PaymentRefundReversed => "refund_reversal",
        _ => "refund",
    };

    private static long AmountOf(OutboxEvent e)
    {
        // A reversal takes back exactly one refund: without it the event cannot be booked (a bug upstream, not a guess here).
        if (e.Type == EventTypes.PaymentRefundReversed)
            return e.Refund?.AmountMinor is > 0 and var reversed ? reversed : throw new InvalidOperationException("a payment.refund_reversed event without its refund");
        var capture = e.Type == EventTypes.PaymentCaptured;
        // A refund line is that refund's own amount, one line per refund (partial refunds each their own, migration 0018).
        var amount = capture ? e.Payment.AmountCapturedMinor : e.Refund?.AmountMinor ?? e.Payment.AmountRefundedMinor;
        if (amount <= 0) throw new InvalidOperationException($"a {e.Type} event with no {(capture ? "captured" : "refunded")} amount");
        return amount;
    }

    private static void Add<T>(NpgsqlCommand command, string name, NpgsqlDbType type, IEnumerable<T> values) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | type) { Value = values.ToArray() });
}

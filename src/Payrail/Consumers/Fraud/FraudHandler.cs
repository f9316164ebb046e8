using Npgsql;
using NpgsqlTypes;
using Payrail.Outbox;

namespace Payrail.Consumers.Fraud;

/// <summary>
/// <c>fraud</c>: every started payment is an attempt and every failed one a decline in the sliding windows (event time, so
/// a replay judges alike); each started payment gets a review, and a decline gets one when it completes a burst.
/// The card-fingerprint / payment-method window needs an instrument: event schema 1 carries neither, so that rule stays
/// silent until the contract gains one (<see cref="InstrumentOf"/>).
/// </summary>
public sealed class FraudHandler(ConsumersOptions options) : IEventHandler
{
    public const string ConsumerName = "fraud";

    private readonly FraudOptions _options = options.Fraud;

    public string Name => ConsumerName;

    public bool Handles(string type) => type is EventTypes.PaymentInitiated or EventTypes.PaymentFailed;

    /// <summary>
    /// One round trip of two statements, whatever the batch's size: the batch's observations in one insert, then the
    /// window counts of every event in one select. Each count must see the observations before it and not those after
    /// it, as one by one would: the select counts the table (the whole batch included), and the batch's later events
    /// that fall in an event's window are taken off here (<see cref="LaterInWindow"/>). Two statements per event before
    /// (README "Consumers", PostgreSQL CPU per event).
    /// </summary>
    public async Task ApplyAsync(NpgsqlTransaction transaction, IReadOnlyList<OutboxEvent> events, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction) { BatchCommands = { Observe(events), Count(events) } };
        var reviews = new List<(OutboxEvent Event, FraudVerdict Verdict)>();
        var velocity = TimeSpan.FromSeconds(_options.VelocityWindowSeconds);
        var declines = TimeSpan.FromSeconds(_options.DeclineWindowSeconds);
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            for (var i = 0; i < events.Count; i++)
            {
                // The reader passes over the INSERT (no result set): the counts are the one result, a row per event in order.
                if (!await reader.ReadAsync(cancellationToken)) throw new InvalidOperationException("the fraud batch returned fewer counts than events");
                var e = events[i];
                var instrument = InstrumentOf(e);
                var counts = new FraudWindowCounts(
                    reader.GetInt64(0) - LaterInWindow(events, i, Attempt, velocity, l => l.Payment.BuyerId == e.Payment.BuyerId),
                    instrument is null ? null : reader.GetInt64(1) - LaterInWindow(events, i, Attempt, velocity, l => InstrumentOf(l) == instrument),
                    reader.GetInt64(2) - LaterInWindow(events, i, Decline, declines, l => l.Payment.BuyerId == e.Payment.BuyerId));
                var verdict = FraudRules.Evaluate(counts, e.Payment.AmountMinor, e.Payment.Currency, _options);
                if (e.Type == EventTypes.PaymentFailed && verdict.Reasons.Count == 0) continue;
                reviews.Add((e, verdict));
            }
        }
        if (reviews.Count > 0) await ReviewAsync(transaction, reviews, cancellationToken);
    }

    private const string Attempt = "attempt";
    private const string Decline = "decline";

    private static string KindOf(OutboxEvent e) => e.Type == EventTypes.PaymentFailed ? Decline : Attempt;

    /// <summary>
    /// The batch's events after <paramref name="index"/> of <paramref name="kind"/> that match and fall in its window
    /// (observed in (at − window, at]): in the table when the batch's counts are read, not yet there one by one.
    /// </summary>
    public static long LaterInWindow(IReadOnlyList<OutboxEvent> events, int index, string kind, TimeSpan window, Func<OutboxEvent, bool> matches)
    {
        var at = events[index].OccurredAt;
        long later = 0;
        for (var j = index + 1; j < events.Count; j++)
        {
            var l = events[j];
            if (KindOf(l) == kind && l.OccurredAt > at - window && l.OccurredAt <= at && matches(l)) later++;
        }
        return later;
    }

    private static NpgsqlBatchCommand Observe(IReadOnlyList<OutboxEvent> events)
    {
        var observe = new NpgsqlBatchCommand("""
            INSERT INTO fraud_observations (event_id, payment_id, buyer_id, instrument, kind, amount_minor, currency, observed_at)
            SELECT o.event_id, o.payment_id, o.buyer_id, o.instrument, o.kind, o.amount_minor, o.currency, o.observed_at
            FROM unnest($1, $2, $3, $4, $5, $6, $7, $8) WITH ORDINALITY
                AS o(event_id, payment_id, buyer_id, instrument, kind, amount_minor, currency, observed_at, n)
            ORDER BY o.n
            ON CONFLICT DO NOTHING
            """);
        Add(observe, NpgsqlDbType.Uuid, events.Select(e => e.Id));
        Add(observe, NpgsqlDbType.Uuid, events.Select(e => e.PaymentId));
        Add(observe, NpgsqlDbType.Text, events.Select(e => e.Payment.BuyerId));
        Add(observe, NpgsqlDbType.Text, events.Select(InstrumentOf));
        Add(observe, NpgsqlDbType.Text, events.Select(KindOf));
        Add(observe, NpgsqlDbType.Bigint, events.Select(e => e.Payment.AmountMinor));
        Add(observe, NpgsqlDbType.Text, events.Select(e => e.Payment.Currency));
        Add(observe, NpgsqlDbType.TimestampTz, events.Select(e => e.OccurredAt));
        return observe;
    }

    private NpgsqlBatchCommand Count(IReadOnlyList<OutboxEvent> events)
    {
        var count = new NpgsqlBatchCommand("""
            SELECT
              (SELECT count(*) FROM (SELECT FROM fraud_observations WHERE buyer_id = b.buyer_id AND kind = 'attempt'
                 AND observed_at > b.at - make_interval(secs => $4) AND observed_at <= b.at LIMIT $6) AS c),
              (SELECT count(*) FROM (SELECT FROM fraud_observations WHERE instrument = b.instrument AND kind = 'attempt'
                 AND observed_at > b.at - make_interval(secs => $4) AND observed_at <= b.at LIMIT $6) AS c),
              (SELECT count(*) FROM (SELECT FROM fraud_observations WHERE buyer_id = b.buyer_id AND kind = 'decline'
                 AND observed_at > b.at - make_interval(secs => $5) AND observed_at <= b.at LIMIT $6) AS c)
            FROM unnest($1, $2, $3) WITH ORDINALITY AS b(buyer_id, instrument, at, n)
            ORDER BY b.n
            """);
        Add(count, NpgsqlDbType.Text, events.Select(e => e.Payment.BuyerId));
        Add(count, NpgsqlDbType.Text, events.Select(InstrumentOf));
        Add(count, NpgsqlDbType.TimestampTz, events.Select(e => e.OccurredAt));
        count.Parameters.Add(new NpgsqlParameter { Value = (double)_options.VelocityWindowSeconds });
        count.Parameters.Add(new NpgsqlParameter { Value = (double)_options.DeclineWindowSeconds });
        count.Parameters.Add(new NpgsqlParameter { Value = CountBound(_options, events.Count) });
        return count;
    }

    /// <summary>
    /// How far each window is counted: the rules only ask whether a count passes its limit, so counting stops there. An
    /// unbounded count read every observation of the buyer's window for every event: one buyer paying 300 times a second
    /// (`payrail bench --rate`) made it about 18,000 index entries per count, 3.9 ms of PostgreSQL per payment, more than
    /// everything else the payment cost PostgreSQL (README "PostgreSQL CPU per payment"). The batch's later events are
    /// taken off a count afterwards (<see cref="LaterInWindow"/>), at most <paramref name="batchEvents"/> − 1 of them: a
    /// count that reached the bound is still past every limit after that, so each verdict is the unbounded count's.
    /// </summary>
    public static long CountBound(FraudOptions options, int batchEvents) =>
        (long)Math.Max(options.MaxPaymentsPerBuyer, Math.Max(options.MaxPaymentsPerInstrument, options.MaxDeclinesPerBuyer)) + 1 + batchEvents;

    private static void Add<T>(NpgsqlBatchCommand command, NpgsqlDbType type, IEnumerable<T> values) =>
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | type, Value = values.ToArray() });

    private static async Task ReviewAsync(NpgsqlTransaction transaction, List<(OutboxEvent Event, FraudVerdict Verdict)> reviews,
        CancellationToken cancellationToken)
    {
        // Reasons travel as one comma-joined string per review (stable names without commas): unnest cannot take a jagged array.
        await using var review = new NpgsqlCommand("""
            INSERT INTO fraud_reviews (event_id, payment_id, buyer_id, score, reasons, reviewed_at)
            SELECT r.event_id, r.payment_id, r.buyer_id, r.score, CASE WHEN r.reasons = '' THEN '{}'::text[] ELSE string_to_array(r.reasons, ',') END, r.at
            FROM unnest(@event_ids, @payment_ids, @buyer_ids, @scores, @reasons, @ats) WITH ORDINALITY
                AS r(event_id, payment_id, buyer_id, score, reasons, at, n)
            ORDER BY r.n
            ON CONFLICT (event_id) DO NOTHING
            """, transaction.Connection, transaction);
        Add(review, "event_ids", NpgsqlDbType.Uuid, reviews.Select(r => r.Event.Id));
        Add(review, "payment_ids", NpgsqlDbType.Uuid, reviews.Select(r => r.Event.PaymentId));
        Add(review, "buyer_ids", NpgsqlDbType.Text, reviews.Select(r => r.Event.Payment.BuyerId));
        Add(review, "scores", NpgsqlDbType.Integer, reviews.Select(r => r.Verdict.Score));
        Add(review, "reasons", NpgsqlDbType.Text, reviews.Select(r => string.Join(',', r.Verdict.Reasons)));
        Add(review, "ats", NpgsqlDbType.TimestampTz, reviews.Select(r => r.Event.OccurredAt));
        await review.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Add<T>(NpgsqlCommand command, string name, NpgsqlDbType type, IEnumerable<T> values) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | type) { Value = values.ToArray() });

    /// <summary>The card fingerprint, else the payment method: schema 1 of the event carries neither.</summary>
    private static string? InstrumentOf(OutboxEvent e) => null;
}

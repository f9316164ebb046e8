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
    /// One round trip observes and counts every event in order (each count sees the observations before it, as one by
    /// one would), then one statement stores the reviews.
    /// </summary>
    public async Task ApplyAsync(NpgsqlTransaction transaction, IReadOnlyList<OutboxEvent> events, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction);
        foreach (var e in events)
        {
            batch.BatchCommands.Add(Observe(e));
            batch.BatchCommands.Add(Count(e));
        }
        var reviews = new List<(OutboxEvent Event, FraudVerdict Verdict)>();
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            for (var i = 0; i < events.Count; i++)
            {
                // The reader passes over the INSERTs (no result set): each count's row is the next result.
                if ((i > 0 && !await reader.NextResultAsync(cancellationToken)) || !await reader.ReadAsync(cancellationToken))
                    throw new InvalidOperationException("the fraud batch returned fewer counts than events");
                var e = events[i];
                var instrument = InstrumentOf(e);
                var counts = new FraudWindowCounts(reader.GetInt64(0), instrument is null ? null : reader.GetInt64(1), reader.GetInt64(2));
                var verdict = FraudRules.Evaluate(counts, e.Payment.AmountMinor, e.Payment.Currency, _options);
                if (e.Type == EventTypes.PaymentFailed && verdict.Reasons.Count == 0) continue;
                reviews.Add((e, verdict));
            }
        }
        if (reviews.Count > 0) await ReviewAsync(transaction, reviews, cancellationToken);
    }

    private static NpgsqlBatchCommand Observe(OutboxEvent e)
    {
        var observe = new NpgsqlBatchCommand("""
            INSERT INTO fraud_observations (event_id, payment_id, buyer_id, instrument, kind, amount_minor, currency, observed_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT DO NOTHING
            """);
        observe.Parameters.Add(new NpgsqlParameter { Value = e.Id });
        observe.Parameters.Add(new NpgsqlParameter { Value = e.PaymentId });
        observe.Parameters.Add(new NpgsqlParameter { Value = e.Payment.BuyerId });
        observe.Parameters.Add(new NpgsqlParameter { Value = (object?)InstrumentOf(e) ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        observe.Parameters.Add(new NpgsqlParameter { Value = e.Type == EventTypes.PaymentFailed ? "decline" : "attempt" });
        observe.Parameters.Add(new NpgsqlParameter { Value = e.Payment.AmountMinor });
        observe.Parameters.Add(new NpgsqlParameter { Value = e.Payment.Currency });
        observe.Parameters.Add(new NpgsqlParameter { Value = e.OccurredAt });
        return observe;
    }

    private NpgsqlBatchCommand Count(OutboxEvent e)
    {
        var count = new NpgsqlBatchCommand("""
            SELECT
              (SELECT count(*) FROM fraud_observations WHERE buyer_id = $1 AND kind = 'attempt'
                 AND observed_at > $3 - make_interval(secs => $4) AND observed_at <= $3),
              (SELECT count(*) FROM fraud_observations WHERE instrument = $2 AND kind = 'attempt'
                 AND observed_at > $3 - make_interval(secs => $4) AND observed_at <= $3),
              (SELECT count(*) FROM fraud_observations WHERE buyer_id = $1 AND kind = 'decline'
                 AND observed_at > $3 - make_interval(secs => $5) AND observed_at <= $3)
            """);
        count.Parameters.Add(new NpgsqlParameter { Value = e.Payment.BuyerId });
        count.Parameters.Add(new NpgsqlParameter { Value = (object?)InstrumentOf(e) ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        count.Parameters.Add(new NpgsqlParameter { Value = e.OccurredAt });
        count.Parameters.Add(new NpgsqlParameter { Value = (double)_options.VelocityWindowSeconds });
        count.Parameters.Add(new NpgsqlParameter { Value = (double)_options.DeclineWindowSeconds });
        return count;
    }

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

using Npgsql;
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

    public async Task ApplyAsync(NpgsqlTransaction transaction, OutboxEvent e, CancellationToken cancellationToken)
    {
        var decline = e.Type == EventTypes.PaymentFailed;
        var instrument = InstrumentOf(e);
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction);
        var observe = new NpgsqlBatchCommand("""
            INSERT INTO fraud_observations (event_id, payment_id, buyer_id, instrument, kind, amount_minor, currency, observed_at)
            VALUES (@event_id, @payment_id, @buyer_id, @instrument, @kind, @amount, @currency, @at)
            ON CONFLICT DO NOTHING
            """);
        observe.Parameters.AddWithValue("event_id", e.Id);
        observe.Parameters.AddWithValue("payment_id", e.PaymentId);
        observe.Parameters.AddWithValue("buyer_id", e.Payment.BuyerId);
        observe.Parameters.AddWithValue("instrument", (object?)instrument ?? DBNull.Value);
        observe.Parameters.AddWithValue("kind", decline ? "decline" : "attempt");
        observe.Parameters.AddWithValue("amount", e.Payment.AmountMinor);
        observe.Parameters.AddWithValue("currency", e.Payment.Currency);
        observe.Parameters.AddWithValue("at", e.OccurredAt);
        batch.BatchCommands.Add(observe);
        var count = new NpgsqlBatchCommand("""
            SELECT
              (SELECT count(*) FROM fraud_observations WHERE buyer_id = @buyer_id AND kind = 'attempt'
                 AND observed_at > @at - make_interval(secs => @velocity_s) AND observed_at <= @at),
              (SELECT count(*) FROM fraud_observations WHERE instrument = @instrument AND kind = 'attempt'
                 AND observed_at > @at - make_interval(secs => @velocity_s) AND observed_at <= @at),
              (SELECT count(*) FROM fraud_observations WHERE buyer_id = @buyer_id AND kind = 'decline'
                 AND observed_at > @at - make_interval(secs => @decline_s) AND observed_at <= @at)
            """);
        count.Parameters.AddWithValue("buyer_id", e.Payment.BuyerId);
        count.Parameters.AddWithValue("instrument", (object?)instrument ?? DBNull.Value);
        count.Parameters.AddWithValue("at", e.OccurredAt);
        count.Parameters.AddWithValue("velocity_s", (double)_options.VelocityWindowSeconds);
        count.Parameters.AddWithValue("decline_s", (double)_options.DeclineWindowSeconds);
        batch.BatchCommands.Add(count);

        FraudWindowCounts counts;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            counts = new FraudWindowCounts(reader.GetInt64(0), instrument is null ? null : reader.GetInt64(1), reader.GetInt64(2));
        }
        var verdict = FraudRules.Evaluate(counts, e.Payment.AmountMinor, e.Payment.Currency, _options);
        if (decline && verdict.Reasons.Count == 0) return;
        await using var review = new NpgsqlCommand("""
            INSERT INTO fraud_reviews (event_id, payment_id, buyer_id, score, reasons, reviewed_at)
            VALUES (@event_id, @payment_id, @buyer_id, @score, @reasons, @at)
            ON CONFLICT (event_id) DO NOTHING
            """, transaction.Connection, transaction);
        review.Parameters.AddWithValue("event_id", e.Id);
        review.Parameters.AddWithValue("payment_id", e.PaymentId);
        review.Parameters.AddWithValue("buyer_id", e.Payment.BuyerId);
        review.Parameters.AddWithValue("score", verdict.Score);
        review.Parameters.AddWithValue("reasons", verdict.Reasons.ToArray());
        review.Parameters.AddWithValue("at", e.OccurredAt);
        await review.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The card fingerprint, else the payment method: schema 1 of the event carries neither.</summary>
    private static string? InstrumentOf(OutboxEvent e) => null;
}

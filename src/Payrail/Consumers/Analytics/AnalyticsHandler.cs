using Npgsql;
using NpgsqlTypes;
using Payrail.Outbox;

namespace Payrail.Consumers.Analytics;

/// <summary>
/// <c>analytics</c>: per merchant, day (UTC, of the event) and currency, a count and a sum for each status a payment
/// reached; for <c>refunded</c> the sum is the amount refunded (the refund total), and a refund reversed after it
/// succeeded counts under <c>refund_reversed</c> on the reversal's day (the read API nets it out of the refunded amount:
/// per-day counters only ever add, so a reversal cannot reach back into the refund's day). <c>payment.completed</c> repeats
/// <c>payment.captured</c> and is not counted twice. PSP latency percentiles would need the PSP call's timings, which
/// event schema 1 does not carry: not computed.
/// </summary>
public sealed class AnalyticsHandler : IEventHandler
{
    public const string ConsumerName = "analytics";

    public string Name => ConsumerName;

    /// <summary>The counter of refunds that came back after they succeeded (<c>payment.refund_reversed</c>).</summary>
    public const string RefundReversedStatus = "refund_reversed";

    public bool Handles(string type) => type is EventTypes.PaymentInitiated or EventTypes.PaymentAuthorized or EventTypes.PaymentCaptured
        or EventTypes.PaymentFailed or EventTypes.PaymentVoided or EventTypes.PaymentRefunded or EventTypes.PaymentSettled
        or EventTypes.PaymentRefundReversed;

    public async Task ApplyAsync(NpgsqlTransaction transaction, IReadOnlyList<OutboxEvent> events, CancellationToken cancellationToken)
    {
        // Added up per row first: one statement cannot update a row twice, and the sums are what one-by-one would add.
        var rows = new Dictionary<(string Merchant, DateOnly Day, string Currency, string Status), (long Payments, long AmountMinor)>();
        foreach (var e in events)
        {
            var (status, amount) = CountedAs(e);
            var key = (e.Payment.MerchantId, DateOnly.FromDateTime(e.OccurredAt.UtcDateTime), e.Payment.Currency, status);
            var (payments, sum) = rows.GetValueOrDefault(key);
            rows[key] = (payments + 1, checked(sum + amount));
        }
        // Not idempotent by itself (it adds): the inbox rows committed with it keep a redelivery from counting twice.
        await using var command = new NpgsqlCommand("""
            INSERT INTO analytics_daily AS a (merchant_id, day, currency, status, payments, amount_minor)
            SELECT * FROM unnest(@merchant_ids, @days, @currencies, @statuses, @payments, @amounts)
            ON CONFLICT (merchant_id, day, currency, status)
            DO UPDATE SET payments = a.payments + excluded.payments, amount_minor = a.amount_minor + excluded.amount_minor
            """, transaction.Connection, transaction);
        command.Parameters.Add(new NpgsqlParameter("merchant_ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Keys.Select(k => k.Merchant).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("days", NpgsqlDbType.Array | NpgsqlDbType.Date) { Value = rows.Keys.Select(k => k.Day).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("currencies", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Keys.Select(k => k.Currency).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("statuses", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Keys.Select(k => k.Status).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("payments", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = rows.Values.Select(v => v.Payments).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("amounts", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = rows.Values.Select(v => v.AmountMinor).ToArray() });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The status an event counts under and the amount it adds.</summary>
    private static (string Status, long AmountMinor) CountedAs(OutboxEvent e) => e.Type switch
    {
        // One event per refund: its own amount, so partial refunds add up to the total refunded once each.
        EventTypes.PaymentRefunded => ("refunded", e.Refund?.AmountMinor ?? e.Payment.AmountRefundedMinor),
        EventTypes.PaymentRefundReversed => (RefundReversedStatus,
            e.Refund?.AmountMinor ?? throw new InvalidOperationException("a payment.refund_reversed event without its refund")),
        EventTypes.PaymentCaptured => ("captured", e.Payment.AmountCapturedMinor),
        EventTypes.PaymentSettled => ("settled", e.Payment.AmountCapturedMinor),
        _ => (e.Payment.Status, e.Payment.AmountMinor),
    };
}

using Npgsql;
using Payrail.Outbox;

namespace Payrail.Consumers.Analytics;

/// <summary>
/// <c>analytics</c>: per merchant, day (UTC, of the event) and currency, a count and a sum for each status a payment
/// reached; for <c>refunded</c> the sum is the amount refunded (the refund total). <c>payment.completed</c> repeats
/// <c>payment.captured</c> and is not counted twice. PSP latency percentiles would need the PSP call's timings, which
/// event schema 1 does not carry: not computed.
/// </summary>
public sealed class AnalyticsHandler : IEventHandler
{
    public const string ConsumerName = "analytics";

    public string Name => ConsumerName;

    public bool Handles(string type) => type is EventTypes.PaymentInitiated or EventTypes.PaymentAuthorized or EventTypes.PaymentCaptured
        or EventTypes.PaymentFailed or EventTypes.PaymentVoided or EventTypes.PaymentRefunded or EventTypes.PaymentSettled;

    public async Task ApplyAsync(NpgsqlTransaction transaction, OutboxEvent e, CancellationToken cancellationToken)
    {
        var p = e.Payment;
        var (status, amount) = e.Type switch
        {
            // One event per refund: its own amount, so partial refunds add up to the total refunded once each.
            EventTypes.PaymentRefunded => ("refunded", e.Refund?.AmountMinor ?? p.AmountRefundedMinor),
            EventTypes.PaymentCaptured => ("captured", p.AmountCapturedMinor),
            EventTypes.PaymentSettled => ("settled", p.AmountCapturedMinor),
            _ => (p.Status, p.AmountMinor),
        };
        // Not idempotent by itself (it adds): the inbox row committed with it is what keeps a redelivery from counting twice.
        await using var command = new NpgsqlCommand("""
            INSERT INTO analytics_daily AS a (merchant_id, day, currency, status, payments, amount_minor)
            VALUES (@merchant_id, @day, @currency, @status, 1, @amount)
            ON CONFLICT (merchant_id, day, currency, status)
            DO UPDATE SET payments = a.payments + 1, amount_minor = a.amount_minor + excluded.amount_minor
            """, transaction.Connection, transaction);
        command.Parameters.AddWithValue("merchant_id", p.MerchantId);
        command.Parameters.AddWithValue("day", DateOnly.FromDateTime(e.OccurredAt.UtcDateTime));
        command.Parameters.AddWithValue("currency", p.Currency);
        command.Parameters.AddWithValue("status", status);
        command.Parameters.AddWithValue("amount", amount);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

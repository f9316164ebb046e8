using Npgsql;
using Payrail.Outbox;

namespace Payrail.Consumers;

/// <summary>The SQL of <c>consumer_inbox</c>: the (consumer, event id) row that makes a handler's effect exactly once.</summary>
public static class ConsumerInbox
{
    /// <summary>
    /// Claims the event for <paramref name="consumer"/> inside <paramref name="transaction"/>: false when a committed
    /// transaction already holds the row (a redelivery). A concurrent claimer of the same row waits on the primary key
    /// until this transaction ends, so two deliveries can never both apply.
    /// </summary>
    public static async Task<bool> TryClaimAsync(NpgsqlTransaction transaction, string consumer, OutboxEvent e,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO consumer_inbox (consumer, event_id, event_type, payment_id)
            VALUES (@consumer, @event_id, @event_type, @payment_id)
            ON CONFLICT (consumer, event_id) DO NOTHING
            """, transaction.Connection, transaction);
        command.Parameters.AddWithValue("consumer", consumer);
        command.Parameters.AddWithValue("event_id", e.Id);
        command.Parameters.AddWithValue("event_type", e.Type);
        command.Parameters.AddWithValue("payment_id", e.PaymentId);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }
}

using Npgsql;
using NpgsqlTypes;
using Payrail.Outbox;

namespace Payrail.Consumers;

/// <summary>The SQL of <c>consumer_inbox</c>: the (consumer, event id) row that makes a handler's effect exactly once.</summary>
public static class ConsumerInbox
{
    /// <summary>
    /// Claims <paramref name="events"/> (distinct ids) for <paramref name="consumer"/> inside <paramref name="transaction"/>
    /// in one statement and returns the ids it claimed: an event whose row a committed transaction already holds (a
    /// redelivery) is left out. A concurrent claimer of the same row waits on the primary key until this transaction
    /// ends, so two deliveries can never both apply; rows are inserted in the events' order, so two claimers of
    /// overlapping batches (a rebalance) take their row locks in the same order.
    /// </summary>
    public static async Task<HashSet<Guid>> ClaimAsync(NpgsqlTransaction transaction, string consumer, IReadOnlyList<OutboxEvent> events,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO consumer_inbox (consumer, event_id, event_type, payment_id)
            SELECT @consumer, e.event_id, e.event_type, e.payment_id
            FROM unnest(@event_ids, @event_types, @payment_ids) WITH ORDINALITY AS e(event_id, event_type, payment_id, n)
            ORDER BY e.n
            ON CONFLICT (consumer, event_id) DO NOTHING
            RETURNING event_id
            """, transaction.Connection, transaction);
        command.Parameters.AddWithValue("consumer", consumer);
        command.Parameters.Add(new NpgsqlParameter("event_ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = events.Select(e => e.Id).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("event_types", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.Type).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("payment_ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = events.Select(e => e.PaymentId).ToArray() });
        var claimed = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) claimed.Add(reader.GetGuid(0));
        return claimed;
    }
}

using Npgsql;
using NpgsqlTypes;

namespace Payrail.Outbox;

/// <summary>
/// The SQL that writes <c>outbox</c> rows, always inside the transaction of the change they announce (the transactional
/// outbox): the row and the change commit together or not at all.
/// </summary>
public static class OutboxWrites
{
    /// <summary>A payment's events in the order given: <c>seq</c> follows insertion, so the relay keeps it.</summary>
    public static NpgsqlBatchCommand? Insert(Guid paymentId, IReadOnlyList<OutboxEvent> events)
    {
        if (events.Count == 0) return null;
        var command = new NpgsqlBatchCommand("""
            INSERT INTO outbox (id, aggregate_id, event_type, payload, occurred_at)
            SELECT event.id, @aggregate_id, event.type, event.payload::jsonb, event.occurred_at
            FROM unnest(@ids, @types, @payloads, @occurred_ats) WITH ORDINALITY AS event(id, type, payload, occurred_at, n)
            ORDER BY event.n
            """);
        command.Parameters.AddWithValue("aggregate_id", paymentId);
        command.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = events.Select(e => e.Id).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("types", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.Type).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("payloads", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.ToJson()).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("occurred_ats", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz)
            { Value = events.Select(e => e.OccurredAt).ToArray() });
        return command;
    }

    /// <summary>
    /// A common table expression named <paramref name="name"/> that inserts one event for each row of the CTE
    /// <paramref name="source"/> (which returns <c>id</c>, the payment id): used where the event must be written by the same
    /// statement as the payment (transaction 1). Its parameters come from <see cref="AddCteParameters"/>.
    /// </summary>
    public static string InsertCte(string name, string source) => $"""
        {name} AS (
            INSERT INTO outbox (id, aggregate_id, event_type, payload, occurred_at)
            SELECT @event_id, id, @event_type, @event_payload::jsonb, @event_occurred_at FROM {source}
        )
        """;

    public static void AddCteParameters(NpgsqlParameterCollection p, OutboxEvent e)
    {
        p.AddWithValue("event_id", e.Id);
        p.AddWithValue("event_type", e.Type);
        p.AddWithValue("event_payload", e.ToJson());
        p.AddWithValue("event_occurred_at", e.OccurredAt);
    }
}

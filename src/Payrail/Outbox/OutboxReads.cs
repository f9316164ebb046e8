using Npgsql;
using NpgsqlTypes;

namespace Payrail.Outbox;

/// <summary>An unpublished outbox row as the relay reads it.</summary>
public sealed record OutboxRow(Guid Id, long Seq, Guid AggregateId, string EventType, string Payload, DateTimeOffset OccurredAt);

/// <summary>
/// The relay's SQL over <c>outbox</c>. The visibility guard: rows are chosen by <c>published_at IS NULL</c> (the partial
/// index <c>outbox_unpublished</c> of migration 0005), never by a cursor such as <c>seq &gt; last</c>. A transaction that
/// took its <c>seq</c> early and commits late leaves a row behind any cursor; here it is simply unpublished at the next
/// round and goes out then. One payment's events cannot commit out of order (each change holds the payment row's lock
/// from its version-checked UPDATE to its commit), so ordering by <c>seq</c> keeps each payment's order.
/// </summary>
public static class OutboxReads
{
    /// <summary>
    /// The ownership partition of a payment, in SQL: the same hash in every session and every relay. Masked to stay
    /// non-negative (hashtext is a signed int4).
    /// </summary>
    public const string PartitionOf = "((hashtext(aggregate_id::text) & 2147483647) % @partitions)";

    private static readonly string ReadOwnedSql = $"""
        SELECT id, seq, aggregate_id, event_type, payload::text, occurred_at
        FROM outbox
        WHERE published_at IS NULL AND {PartitionOf} = ANY(@owned) AND seq <> ALL(@in_flight)
        ORDER BY seq
        LIMIT @batch_size
        """;

    // A relay that owns every partition skips the hash: the common single-worker case reads the index alone.
    private const string ReadAllSql = """
        SELECT id, seq, aggregate_id, event_type, payload::text, occurred_at
        FROM outbox
        WHERE published_at IS NULL AND seq <> ALL(@in_flight)
        ORDER BY seq
        LIMIT @batch_size
        """;

    private const string MarkPublishedSql = """
        UPDATE outbox SET published_at = now(), attempts = attempts + 1
        WHERE id = ANY(@ids) AND published_at IS NULL
        """;

    private const string CountFailedAttemptSql = "UPDATE outbox SET attempts = attempts + 1 WHERE id = ANY(@ids) AND published_at IS NULL";

    /// <summary>
    /// Up to <paramref name="batchSize"/> unpublished rows of the <paramref name="owned"/> partitions, oldest first,
    /// leaving out the batch still in flight (produced, not yet marked). Exactly those rows, by seq, never a range: a
    /// row that committed late inside the range of the batch in flight is read now, in its place.
    /// </summary>
    public static async Task<IReadOnlyList<OutboxRow>> ReadUnpublishedAsync(NpgsqlConnection session, IReadOnlyCollection<int> owned,
        int partitions, int batchSize, long[] inFlight, int timeoutSeconds, CancellationToken cancellationToken)
    {
        var all = owned.Count == partitions;
        await using var command = new NpgsqlCommand(all ? ReadAllSql : ReadOwnedSql, session) { CommandTimeout = timeoutSeconds };
        command.Parameters.AddWithValue("batch_size", batchSize);
        command.Parameters.Add(new NpgsqlParameter("in_flight", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = inFlight });
        if (!all)
        {
            command.Parameters.AddWithValue("partitions", partitions);
            command.Parameters.Add(new NpgsqlParameter("owned", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = owned.ToArray() });
        }
        var rows = new List<OutboxRow>(Math.Min(batchSize, 4_096));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(new OutboxRow(reader.GetGuid(0), reader.GetInt64(1), reader.GetGuid(2), reader.GetString(3), reader.GetString(4),
                reader.GetFieldValue<DateTimeOffset>(5)));
        return rows;
    }

    /// <summary>Marks rows whose delivery Kafka acknowledged; returns how many were still unpublished.</summary>
    public static Task<int> MarkPublishedAsync(NpgsqlConnection session, IReadOnlyList<Guid> ids, int timeoutSeconds,
        CancellationToken cancellationToken) => UpdateAsync(session, MarkPublishedSql, ids, timeoutSeconds, cancellationToken);

    /// <summary>Counts a failed delivery on each row (the row stays unpublished and goes out on a later round).</summary>
    public static Task<int> CountFailedAttemptAsync(NpgsqlConnection session, IReadOnlyList<Guid> ids, int timeoutSeconds,
        CancellationToken cancellationToken) => UpdateAsync(session, CountFailedAttemptSql, ids, timeoutSeconds, cancellationToken);

    private static async Task<int> UpdateAsync(NpgsqlConnection session, string sql, IReadOnlyList<Guid> ids, int timeoutSeconds,
        CancellationToken cancellationToken)
    {
        if (ids.Count == 0) return 0;
        await using var command = new NpgsqlCommand(sql, session) { CommandTimeout = timeoutSeconds };
        command.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = ids.ToArray() });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

using Npgsql;
using NpgsqlTypes;
using Payrail.Domain.Payments;

namespace Payrail.Sweeper;

/// <summary>A payment the sweeper leased: its id and what the lease statement read beside it.</summary>
public sealed record LeasedPayment(Guid Id, string? PaymentMethod, int Checks, DateTimeOffset UpdatedAt, DateTimeOffset? CreateSentAt);

/// <summary>Stuck payments of one (status, age bucket), with the oldest one's last change.</summary>
public sealed record StuckCount(string Status, string AgeBucket, long Count, DateTimeOffset OldestSince);

/// <summary>The events cursor as leased: the newest event applied (null: none yet).</summary>
public sealed record EventCursor(string? EventId, DateTimeOffset? EventCreatedAt);

/// <summary>
/// The sweeper's SQL (migration 0014). Leases are taken by one short statement that commits at once: the PSP calls
/// happen outside any transaction, and a lease outlives the statement, so a second sweeper skips the payment until the
/// first one recorded its check or the lease ran out.
/// </summary>
public sealed class SweeperStore(NpgsqlDataSource database)
{
    // FOR UPDATE SKIP LOCKED: two sweepers leasing at the same moment take disjoint rows instead of waiting on each
    // other; the lease columns keep them disjoint after this statement committed (re-checked on the locked row).
    private const string LeaseInFlightSql = """
        UPDATE payments p SET sweep_lease_until = @lease_until, sweep_leased_by = @owner
        WHERE p.id IN (
            SELECT id FROM payments
            WHERE status IN ('initiated', 'processing') AND updated_at <= @stuck_before
              AND (sweep_next_check_at IS NULL OR sweep_next_check_at <= @now)
              AND (sweep_lease_until IS NULL OR sweep_lease_until <= @now)
            ORDER BY updated_at
            LIMIT @batch_size
            FOR UPDATE SKIP LOCKED)
        RETURNING p.id, p.payment_method, p.sweep_checks, p.updated_at, p.sweep_create_sent_at
        """;

    private const string LeaseExpiredAuthorizationsSql = """
        UPDATE payments p SET sweep_lease_until = @lease_until, sweep_leased_by = @owner
        WHERE p.id IN (
            SELECT id FROM payments
            WHERE status = 'authorized' AND updated_at <= @stuck_before
              AND (sweep_next_check_at IS NULL OR sweep_next_check_at <= @now)
              AND (sweep_lease_until IS NULL OR sweep_lease_until <= @now)
            ORDER BY updated_at
            LIMIT @batch_size
            FOR UPDATE SKIP LOCKED)
        RETURNING p.id, p.payment_method, p.sweep_checks, p.updated_at, p.sweep_create_sent_at
        """;

    /// <summary>Leases up to <paramref name="batchSize"/> payments initiated or processing, unchanged since <paramref name="stuckBefore"/>.</summary>
    public Task<IReadOnlyList<LeasedPayment>> LeaseStuckAsync(Guid owner, DateTimeOffset now, DateTimeOffset stuckBefore, TimeSpan lease,
        int batchSize, CancellationToken cancellationToken) =>
        LeaseAsync(LeaseInFlightSql, owner, now, stuckBefore, lease, batchSize, cancellationToken);

    /// <summary>Leases up to <paramref name="batchSize"/> authorizations recorded before <paramref name="authorizedBefore"/>.</summary>
    public Task<IReadOnlyList<LeasedPayment>> LeaseExpiredAuthorizationsAsync(Guid owner, DateTimeOffset now, DateTimeOffset authorizedBefore,
        TimeSpan lease, int batchSize, CancellationToken cancellationToken) =>
        LeaseAsync(LeaseExpiredAuthorizationsSql, owner, now, authorizedBefore, lease, batchSize, cancellationToken);

    private async Task<IReadOnlyList<LeasedPayment>> LeaseAsync(string sql, Guid owner, DateTimeOffset now, DateTimeOffset before,
        TimeSpan lease, int batchSize, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(sql);
        command.Parameters.AddWithValue("lease_until", now + lease);
        command.Parameters.AddWithValue("owner", owner);
        command.Parameters.AddWithValue("stuck_before", before);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("batch_size", batchSize);
        var leased = new List<LeasedPayment>(batchSize);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            leased.Add(new LeasedPayment(reader.GetGuid(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetInt32(2),
                reader.GetFieldValue<DateTimeOffset>(3), reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4)));
        }
        return leased;
    }

    /// <summary>
    /// Records a check's end and frees the lease: one more check, the next one not before <paramref name="nextCheckAt"/>.
    /// Only the lease's holder records (false: the lease ran out and another sweeper took the payment).
    /// </summary>
    public async Task<bool> RecordCheckAsync(Guid paymentId, Guid owner, DateTimeOffset nextCheckAt, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            UPDATE payments SET sweep_checks = sweep_checks + 1, sweep_next_check_at = @next_check_at,
                                sweep_lease_until = NULL, sweep_leased_by = NULL
            WHERE id = @id AND sweep_leased_by = @owner
            """);
        command.Parameters.AddWithValue("id", paymentId);
        command.Parameters.AddWithValue("owner", owner);
        command.Parameters.AddWithValue("next_check_at", nextCheckAt);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Recorded before the sweeper sends a create: a search finding nothing is believed only a freshness window later.</summary>
    public async Task RecordCreateSentAsync(Guid paymentId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("UPDATE payments SET sweep_create_sent_at = @at WHERE id = @id");
        command.Parameters.AddWithValue("id", paymentId);
        command.Parameters.AddWithValue("at", at);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Payments initiated or processing, unchanged since <paramref name="stuckBefore"/>, by status and age bucket.</summary>
    public async Task<IReadOnlyList<StuckCount>> CountStuckAsync(DateTimeOffset now, DateTimeOffset stuckBefore, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT status, CASE WHEN @now - updated_at < interval '5 minutes' THEN 'lt_5m'
                                WHEN @now - updated_at < interval '1 hour' THEN '5m_1h'
                                WHEN @now - updated_at < interval '1 day' THEN '1h_24h'
                                ELSE 'ge_24h' END AS bucket,
                   count(*), min(updated_at)
            FROM payments
            WHERE status IN ('initiated', 'processing') AND updated_at <= @stuck_before
            GROUP BY 1, 2 ORDER BY 1, 2
            """);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("stuck_before", stuckBefore);
        var counts = new List<StuckCount>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            counts.Add(new StuckCount(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetFieldValue<DateTimeOffset>(3)));
        return counts;
    }

    /// <summary>The payment a PSP event is about: by its PaymentIntent, else by the Payrail id in its metadata.</summary>
    public async Task<(Guid Id, PaymentStatus Status)?> FindByPspAsync(string psp, string pspReference, Guid? paymentId,
        CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT id, status FROM payments
            WHERE (psp = @psp AND psp_reference = @reference) OR (id = @payment_id AND (psp_reference IS NULL OR psp_reference = @reference))
            LIMIT 1
            """);
        command.Parameters.AddWithValue("psp", psp);
        command.Parameters.AddWithValue("reference", pspReference);
        command.Parameters.Add(new NpgsqlParameter("payment_id", NpgsqlDbType.Uuid) { Value = (object?)paymentId ?? DBNull.Value });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        if (!PaymentStatusWire.TryParseWire(reader.GetString(1), out var status))
            throw new InvalidOperationException($"payment {reader.GetGuid(0)} has an unknown status");
        return (reader.GetGuid(0), status);
    }

    /// <summary>Leases the events cursor of <paramref name="psp"/> (created on first use); null while another worker holds it.</summary>
    public async Task<EventCursor?> LeaseCursorAsync(string psp, Guid owner, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO psp_event_cursors (psp, lease_until, leased_by, updated_at) VALUES (@psp, @lease_until, @owner, @now)
            ON CONFLICT (psp) DO UPDATE SET lease_until = EXCLUDED.lease_until, leased_by = EXCLUDED.leased_by
            WHERE psp_event_cursors.lease_until IS NULL OR psp_event_cursors.lease_until <= @now
            RETURNING event_id, event_created_at
            """);
        command.Parameters.AddWithValue("psp", psp);
        command.Parameters.AddWithValue("owner", owner);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("lease_until", now + lease);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new EventCursor(reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1))
            : null;
    }

    /// <summary>Moves the cursor to an applied event (only its lease holder, only forward).</summary>
    public async Task AdvanceCursorAsync(string psp, Guid owner, string eventId, DateTimeOffset eventCreatedAt, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            UPDATE psp_event_cursors SET event_id = @event_id, event_created_at = @created_at, updated_at = @now
            WHERE psp = @psp AND leased_by = @owner AND (event_created_at IS NULL OR event_created_at <= @created_at)
            """);
        command.Parameters.AddWithValue("psp", psp);
        command.Parameters.AddWithValue("owner", owner);
        command.Parameters.AddWithValue("event_id", eventId);
        command.Parameters.AddWithValue("created_at", eventCreatedAt);
        command.Parameters.AddWithValue("now", now);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task ReleaseCursorAsync(string psp, Guid owner, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "UPDATE psp_event_cursors SET lease_until = NULL, leased_by = NULL WHERE psp = @psp AND leased_by = @owner");
        command.Parameters.AddWithValue("psp", psp);
        command.Parameters.AddWithValue("owner", owner);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

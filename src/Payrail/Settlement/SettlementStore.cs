using Npgsql;
using NpgsqlTypes;

namespace Payrail.Settlement;

/// <summary>The settlement's own SQL (cold path): which payments wait for settlement, and the record of each run.</summary>
public sealed class SettlementStore(NpgsqlDataSource database)
{
    /// <summary>
    /// Of <paramref name="pspReferences"/> (at most one lookup batch), those whose payment awaits settlement at Payrail:
    /// CAPTURED, or refunded in full while captured (REFUNDED from CAPTURED) and not settled yet (its fee is still to post).
    /// </summary>
    public async Task<HashSet<string>> AwaitingSettlementAsync(string psp, IReadOnlyList<string> pspReferences, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT p.psp_reference FROM payments p
            WHERE p.psp = @psp AND p.psp_reference = ANY(@references)
              AND (p.status = 'captured'
                   OR (p.status = 'refunded' AND p.refunded_from = 'captured'
                       AND NOT EXISTS (SELECT 1 FROM payment_settlements s WHERE s.payment_id = p.id)))
            """);
        command.Parameters.AddWithValue("psp", psp);
        command.Parameters.Add(new NpgsqlParameter("references", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = pspReferences.ToArray() });
        var captured = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) captured.Add(reader.GetString(0));
        return captured;
    }

    public async Task RecordRunAsync(SettlementReport report, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO settlement_runs (run_date, trigger, started_at, finished_at, lines_read, settled, unchanged, not_yet, refused)
            VALUES (@run_date, @trigger, @started_at, @finished_at, @lines_read, @settled, @unchanged, @not_yet, @refused)
            """);
        var p = command.Parameters;
        p.AddWithValue("run_date", report.Date);
        p.AddWithValue("trigger", report.Trigger);
        p.AddWithValue("started_at", report.StartedAt);
        p.AddWithValue("finished_at", report.StartedAt + report.Duration);
        p.AddWithValue("lines_read", report.LinesRead);
        p.AddWithValue("settled", report.Settled);
        p.AddWithValue("unchanged", report.Unchanged);
        p.AddWithValue("not_yet", report.NotYetAvailable);
        p.AddWithValue("refused", report.Refused);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

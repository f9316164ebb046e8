using System.Data;
using System.Text;
using Npgsql;

namespace Payrail.Consumers.Accounting;

/// <summary>
/// Writes the days' settlement files from <c>settlement_lines</c>, each day at most once per
/// <see cref="AccountingOptions.MinFileIntervalMs"/>. A day this writer wrote before, whose file is as it left it, gets
/// only the lines with an id above the last one it wrote, appended in id order; rewriting the day whole each time read,
/// rendered and wrote every line of the day once a second on the consumer's thread (commit → effect p99 735 ms at
/// 112 payments/s, README "Consumers"). The append is exact only if no line committed late below that id (two accounting
/// members' transactions commit out of id order). Each read takes one snapshot (repeatable read) and notes its xmin, the
/// oldest transaction still running: a line that snapshot did not see was written by a transaction running then or
/// started after, so its <c>tx</c> is at least that xmin. The next append, in its own snapshot, counts the lines at or
/// below the last appended id with <c>tx</c> at least the noted xmin (only recent transactions' lines, not the whole
/// day's: that count grew with the day); more than the noted count is a late line. Then, an unknown day, or a file changed
/// by anyone else (size or time) makes the day rewritten whole (temporary file, then rename: a reader never sees half a
/// file). So the file never holds a line twice, nor misses one. A changed day is written at once when its interval has passed,
/// else at the first flush after it (the loop flushes after every poll) and at shutdown. A kill can lose a pending write:
/// the first flush after a start rewrites the last <see cref="AccountingOptions.RepairDays"/> days that have lines.
/// Used by the accounting loop's thread only.
/// </summary>
public sealed class SettlementFileWriter(NpgsqlDataSource database, AccountingOptions options, TimeProvider clock)
{
    /// <summary>Days whose files this writer remembers; beyond it the oldest is forgotten (its next write is whole).</summary>
    public const int MaxRememberedDays = 32;

    /// <summary>
    /// What this writer left in a day's file: lines up to <c>LastId</c>, how many, the file's size and time, and, as its
    /// last read saw them, the snapshot's xmin and how many of the lines up to <c>LastId</c> have a <c>tx</c> at least that.
    /// </summary>
    private sealed record Written(long LastId, long Lines, long Bytes, DateTime ModifiedUtc, ulong Horizon, long LinesSinceHorizon);

    private readonly Dictionary<DateOnly, Written> _files = [];
    private readonly Dictionary<DateOnly, DateTimeOffset> _writtenAt = [];
    private readonly HashSet<DateOnly> _pending = [];
    private bool _repaired;

    /// <summary>Days whose lines changed (or may have: a redelivery).</summary>
    public async Task ChangedAsync(IEnumerable<DateOnly> days, CancellationToken cancellationToken)
    {
        _pending.UnionWith(days);
        await WriteDueAsync(force: false, cancellationToken);
    }

    public async Task FlushAsync(bool final, CancellationToken cancellationToken)
    {
        if (!_repaired)
        {
            _pending.UnionWith(await RecentDaysAsync(cancellationToken));
            _repaired = true;
        }
        await WriteDueAsync(force: final, cancellationToken);
    }

    private async Task WriteDueAsync(bool force, CancellationToken cancellationToken)
    {
        if (_pending.Count == 0) return;
        var now = clock.GetUtcNow();
        foreach (var day in _pending.Order().ToList())
        {
            if (!force && _writtenAt.TryGetValue(day, out var at) && (now - at).TotalMilliseconds < options.MinFileIntervalMs) continue;
            await WriteAsync(day, cancellationToken);
            _writtenAt[day] = now;
            _pending.Remove(day);
        }
        // Bounded: only days written within the interval are remembered.
        foreach (var day in _writtenAt.Where(w => (now - w.Value).TotalMilliseconds >= options.MinFileIntervalMs).Select(w => w.Key).ToList())
            _writtenAt.Remove(day);
    }

    private async Task WriteAsync(DateOnly day, CancellationToken cancellationToken)
    {
        var directory = options.ResolvedSettlementDirectory;
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, SettlementFile.FileName(day));
        var written = _files.GetValueOrDefault(day) is { } known && await AppendAsync(path, day, known, cancellationToken) is { } appended
            ? appended
            : await RewriteAsync(path, day, cancellationToken);
        _files[day] = written;
        if (_files.Count > MaxRememberedDays) _files.Remove(_files.Keys.Min());
    }

    /// <summary>Appends the lines above the last written id; null when the file or the table says a whole rewrite is due.</summary>
    private async Task<Written?> AppendAsync(string path, DateOnly day, Written known, CancellationToken cancellationToken)
    {
        var file = new FileInfo(path);
        if (!file.Exists || file.Length != known.Bytes || file.LastWriteTimeUtc != known.ModifiedUtc) return null;
        List<(long Id, SettlementLine Line)> lines;
        (ulong Horizon, long Lines) since;
        // The check, the read and the next horizon in one snapshot: a line that commits between them is seen by all or none.
        await using (var connection = await database.OpenConnectionAsync(cancellationToken))
        await using (var snapshot = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken))
        {
            if (await CountSinceAsync(connection, day, known.LastId, known.Horizon, cancellationToken) != known.LinesSinceHorizon)
                return null; // a line committed late below the last appended one
            var room = options.MaxLinesPerDay - known.Lines;
            if (room <= 0) return known;
            lines = await SettlementFile.ReadAfterAsync(connection, day, known.LastId, (int)room, cancellationToken);
            if (lines.Count == 0) return known;
            since = await HorizonAsync(connection, day, lines[^1].Id, cancellationToken);
            await snapshot.CommitAsync(cancellationToken);
        }
        var bytes = Encoding.UTF8.GetBytes(SettlementFile.RenderLines(new StringBuilder(), lines.Select(l => l.Line)).ToString());
        await using (var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read))
            await stream.WriteAsync(bytes, cancellationToken);
        file.Refresh();
        return new Written(lines[^1].Id, known.Lines + lines.Count, file.Length, file.LastWriteTimeUtc, since.Horizon, since.Lines);
    }

    private async Task<Written> RewriteAsync(string path, DateOnly day, CancellationToken cancellationToken)
    {
        List<(long Id, SettlementLine Line)> lines;
        (ulong Horizon, long Lines) since;
        await using (var connection = await database.OpenConnectionAsync(cancellationToken))
        await using (var snapshot = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken))
        {
            lines = await SettlementFile.ReadAfterAsync(connection, day, afterId: 0, options.MaxLinesPerDay, cancellationToken);
            since = await HorizonAsync(connection, day, lines.Count == 0 ? 0 : lines[^1].Id, cancellationToken);
            await snapshot.CommitAsync(cancellationToken);
        }
        var text = SettlementFile.Render(lines.Select(l => l.Line).ToList());
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await File.WriteAllTextAsync(temporary, text, cancellationToken);
        File.Move(temporary, path, overwrite: true);
        var file = new FileInfo(path);
        return new Written(lines.Count == 0 ? 0 : lines[^1].Id, lines.Count, file.Length, file.LastWriteTimeUtc, since.Horizon, since.Lines);
    }

    /// <summary>This snapshot's xmin, and the day's lines up to <paramref name="lastId"/> whose transaction is not older.</summary>
    private static async Task<(ulong Horizon, long Lines)> HorizonAsync(NpgsqlConnection connection, DateOnly day, long lastId,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT pg_snapshot_xmin(pg_current_snapshot()), count(*) FROM settlement_lines
            WHERE settlement_date = @date AND id <= @last AND tx >= pg_snapshot_xmin(pg_current_snapshot())
            """, connection);
        command.Parameters.AddWithValue("date", day);
        command.Parameters.AddWithValue("last", lastId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetFieldValue<ulong>(0), reader.GetInt64(1));
    }

    /// <summary>The day's lines up to <paramref name="lastId"/> written by a transaction not older than <paramref name="horizon"/>.</summary>
    private static async Task<long> CountSinceAsync(NpgsqlConnection connection, DateOnly day, long lastId, ulong horizon,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM settlement_lines WHERE settlement_date = @date AND id <= @last AND tx >= @horizon", connection);
        command.Parameters.AddWithValue("date", day);
        command.Parameters.AddWithValue("last", lastId);
        command.Parameters.Add(new NpgsqlParameter<ulong>("horizon", NpgsqlTypes.NpgsqlDbType.Xid8) { TypedValue = horizon });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private async Task<List<DateOnly>> RecentDaysAsync(CancellationToken cancellationToken)
    {
        if (options.RepairDays == 0) return [];
        await using var command = database.CreateCommand("""
            SELECT DISTINCT settlement_date FROM settlement_lines WHERE settlement_date >= @since ORDER BY settlement_date
            """);
        command.Parameters.AddWithValue("since", DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime).AddDays(-options.RepairDays));
        var days = new List<DateOnly>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) days.Add(reader.GetFieldValue<DateOnly>(0));
        return days;
    }
}

using Npgsql;

namespace Payrail.Consumers.Accounting;

/// <summary>
/// Writes the days' settlement files from <c>settlement_lines</c>, each whole (temporary file, then rename: a reader never
/// sees half a file, and the file never appends, so it holds no duplicate line), each day at most once per
/// <see cref="AccountingOptions.MinFileIntervalMs"/>. A changed day is written at once when its interval has passed,
/// else at the first flush after it (the loop flushes after every poll) and at shutdown. A kill can lose a pending write:
/// the first flush after a start rewrites the last <see cref="AccountingOptions.RepairDays"/> days that have lines.
/// Used by the accounting loop's thread only.
/// </summary>
public sealed class SettlementFileWriter(NpgsqlDataSource database, AccountingOptions options, TimeProvider clock)
{
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
        var text = SettlementFile.Render(await SettlementFile.ReadAsync(database, day, options.MaxLinesPerDay, cancellationToken));
        var directory = options.ResolvedSettlementDirectory;
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, SettlementFile.FileName(day));
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await File.WriteAllTextAsync(temporary, text, cancellationToken);
        File.Move(temporary, path, overwrite: true);
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

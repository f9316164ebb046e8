using Microsoft.Extensions.Options;
using Npgsql;

namespace Payrail.Outbox;

/// <summary>
/// The relay's slow work, on its own timer and its own pooled connections (Wolverine's model): counts the backlog
/// (unpublished rows, capped, and the oldest one's age) for metrics and `payrail status`, and deletes published rows
/// past <see cref="RelayOptions.PublishedRetention"/> in bounded statements.
/// </summary>
public sealed class OutboxHousekeeping(NpgsqlDataSource database, IOptions<RelayOptions> options, RelayMetrics metrics, TimeProvider clock,
    ILogger<OutboxHousekeeping> logger) : BackgroundService
{
    // Counted over the partial index of unpublished rows, stopping at the cap: a huge backlog costs a bounded scan.
    private const string BacklogSql = """
        SELECT count(*), min(occurred_at) FROM (
            SELECT occurred_at FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT @cap) backlog
        """;

    // The oldest rows by seq (the unique index's front), of which those published before the cutoff go. Looking at a
    // bounded front keeps each statement short without an index on published_at; rows not yet due stop the run.
    private const string PruneSql = """
        DELETE FROM outbox WHERE seq IN (
            SELECT seq FROM (SELECT seq, published_at FROM outbox ORDER BY seq LIMIT @scan) front
            WHERE front.published_at < @cutoff)
        """;

    private readonly RelayOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var nextPrune = clock.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await MeasureBacklogAsync(stoppingToken);
                if (clock.GetUtcNow() >= nextPrune)
                {
                    await PruneAsync(stoppingToken);
                    nextPrune = clock.GetUtcNow().AddMilliseconds(_options.PruneIntervalMs);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Outbox housekeeping failed: {Reason}", e.Message);
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(_options.BacklogIntervalMs), clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Counts unpublished rows (up to the cap) and the oldest one's age.</summary>
    public async Task MeasureBacklogAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(BacklogSql);
        command.CommandTimeout = _options.DatabaseTimeoutSeconds;
        command.Parameters.AddWithValue("cap", _options.MaxBacklogCount);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var rows = reader.GetInt64(0);
        var oldest = reader.IsDBNull(1) ? (DateTimeOffset?)null : reader.GetFieldValue<DateTimeOffset>(1);
        var ageSeconds = oldest is { } o ? Math.Max(0, (clock.GetUtcNow() - o).TotalSeconds) : 0;
        metrics.BacklogMeasured(rows, rows >= _options.MaxBacklogCount, ageSeconds);
    }

    /// <summary>One prune run: statements until one deletes nothing new or the run's bound. Returns the rows deleted.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        var cutoff = clock.GetUtcNow() - _options.PublishedRetention;
        var deleted = 0;
        for (var batch = 0; batch < _options.MaxPruneBatchesPerRun; batch++)
        {
            await using var command = database.CreateCommand(PruneSql);
            command.CommandTimeout = _options.DatabaseTimeoutSeconds;
            command.Parameters.AddWithValue("scan", _options.PruneBatchSize);
            command.Parameters.AddWithValue("cutoff", cutoff);
            var count = await command.ExecuteNonQueryAsync(cancellationToken);
            deleted += count;
            if (count < _options.PruneBatchSize) break;
        }
        metrics.Pruned(deleted);
        if (deleted > 0) logger.LogInformation("Pruned {Count} published outbox rows past their retention", deleted);
        return deleted;
    }
}

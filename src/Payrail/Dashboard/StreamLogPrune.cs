using Npgsql;

namespace Payrail.Dashboard;

/// <summary>
/// Deletes stream log rows past <see cref="DashboardWebOptions.StreamRetentionHours"/>, a bounded batch per statement,
/// and records per merchant the highest number deleted, so a stream asked to resume from before it answers "reset"
/// (reload) instead of silently skipping rows.
/// </summary>
public sealed class StreamLogPrune(NpgsqlDataSource database, DashboardWebOptions options, TimeProvider clock, ILogger<StreamLogPrune> logger)
    : BackgroundService
{
    private const int MaxBatchesPerRun = 100;

    public async Task<long> RunOnceAsync(CancellationToken cancellationToken)
    {
        long deleted = 0;
        for (var batch = 0; batch < MaxBatchesPerRun; batch++)
        {
            await using var command = database.CreateCommand("""
                WITH gone AS (
                    DELETE FROM dashboard_updates WHERE (merchant_id, seq) IN (
                        SELECT merchant_id, seq FROM dashboard_updates WHERE recorded_at < now() - make_interval(hours => @hours) LIMIT @limit)
                    RETURNING merchant_id, seq),
                top AS (SELECT merchant_id, max(seq) AS seq FROM gone GROUP BY merchant_id),
                marked AS (
                    UPDATE dashboard_streams s SET pruned_through = greatest(s.pruned_through, top.seq) FROM top
                    WHERE s.merchant_id = top.merchant_id RETURNING 1)
                SELECT count(*) FROM gone
                """);
            command.CommandTimeout = options.DatabaseTimeoutSeconds;
            command.Parameters.AddWithValue("hours", options.StreamRetentionHours);
            command.Parameters.AddWithValue("limit", options.PruneBatchRows);
            var rows = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
            deleted += rows;
            if (rows < options.PruneBatchRows) break;
        }
        if (deleted > 0) logger.LogInformation("dashboard stream log: deleted {Rows} rows past retention", deleted);
        return deleted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("dashboard stream log prune failed ({Error}); next run in {IntervalMs} ms", e.Message, options.PruneIntervalMs);
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(options.PruneIntervalMs), clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }
}

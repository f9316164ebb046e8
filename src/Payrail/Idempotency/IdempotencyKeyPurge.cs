using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Payrail.Idempotency;

/// <summary>Section <c>Idempotency:Purge</c>: every bound of <see cref="IdempotencyKeyPurge"/>.</summary>
public sealed class IdempotencyKeyPurgeOptions
{
    public const string SectionName = "Idempotency:Purge";

    /// <summary>Keys deleted by one statement: one short transaction, so the API's inserts never wait long behind it.</summary>
    public int BatchSize { get; set; } = 1_000;

    /// <summary>Batches in one run: bounds a run's time after a long outage left a large backlog; the next run goes on.</summary>
    public int MaxBatchesPerRun { get; set; } = 100;

    /// <summary>Pause between runs that found no more than one run's worth of keys (the idle case).</summary>
    public int IntervalMs { get; set; } = 60_000;

    public IEnumerable<string> Problems()
    {
        if (BatchSize is < 1 or > 100_000) yield return $"{SectionName}:BatchSize must be within [1, 100000]";
        if (MaxBatchesPerRun is < 1 or > 10_000) yield return $"{SectionName}:MaxBatchesPerRun must be within [1, 10000]";
        if (IntervalMs is < 10 or > 86_400_000) yield return $"{SectionName}:IntervalMs must be within [10, 86400000]";
    }
}

/// <summary>
/// Deletes completed idempotency keys past their retention (<c>expires_at</c>), in bounded batches, run by the worker.
/// A processing key is never deleted, whatever its age: its payment may have been charged at the PSP, and only a retry
/// with the same key resumes it with the same PSP idempotency key (issue 7). The API forgets an expired key lazily when
/// it is reused (<see cref="IdempotencyStore.ForgetExpiredKeyAsync"/>); this keeps the table from growing forever.
/// </summary>
public sealed class IdempotencyKeyPurge(NpgsqlDataSource database, IOptions<IdempotencyKeyPurgeOptions> options, TimeProvider clock,
    IMeterFactory meters, ILogger<IdempotencyKeyPurge> logger) : BackgroundService
{
    public const string MeterName = "Payrail.Idempotency.Purge";

    // SKIP LOCKED: a key the API is forgetting or replaying right now is left for the next run instead of waited on.
    private const string DeleteBatchSql = """
        DELETE FROM idempotency_keys WHERE ctid IN (
            SELECT ctid FROM idempotency_keys
            WHERE status = 'completed' AND expires_at <= @now
            LIMIT @batch_size
            FOR UPDATE SKIP LOCKED)
        """;

    private readonly IdempotencyKeyPurgeOptions _options = options.Value;
    private readonly Counter<long> _deleted = meters.Create(MeterName).CreateCounter<long>("payrail.idempotency.keys_purged", "{key}",
        "Completed idempotency keys deleted after their retention.");
    private readonly Counter<long> _runs = meters.Create(MeterName).CreateCounter<long>("payrail.idempotency.purge_runs", "{run}",
        "Runs of the idempotency key purge, by outcome (ok, failed).");

    /// <summary>One run: batches until one comes back short or <see cref="IdempotencyKeyPurgeOptions.MaxBatchesPerRun"/>. Returns the keys deleted.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var deleted = 0;
        for (var batch = 0; batch < _options.MaxBatchesPerRun; batch++)
        {
            var count = await DeleteBatchAsync(now, cancellationToken);
            deleted += count;
            if (count < _options.BatchSize) break;
        }
        _deleted.Add(deleted);
        _runs.Add(1, new KeyValuePair<string, object?>("outcome", "ok"));
        if (deleted > 0) logger.LogInformation("Purged {Count} expired idempotency keys", deleted);
        return deleted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var fullRun = _options.BatchSize * _options.MaxBatchesPerRun;
        while (!stoppingToken.IsCancellationRequested)
        {
            var deleted = 0;
            try
            {
                deleted = await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                // The database is down or slow: nothing was lost (each batch is its own transaction); try again next time.
                _runs.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
                logger.LogWarning("Idempotency key purge failed: {Reason}", e.Message);
            }
            // A full run means more keys wait: go on at once. Otherwise the table is caught up: wait.
            if (deleted < fullRun && !await IdleAsync(stoppingToken)) return;
        }
    }

    /// <summary>Waits one interval on the host's clock; false when the worker is stopping.</summary>
    private async Task<bool> IdleAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(_options.IntervalMs), clock, stoppingToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<int> DeleteBatchAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(DeleteBatchSql);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("batch_size", _options.BatchSize);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Idempotency;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Idempotency;

/// <summary>
/// The worker's purge deletes completed idempotency keys past their retention, in bounded batches, and never a
/// processing key: its payment may have been charged at the PSP, and only a retry with that key resumes it (issue 7).
/// Each test has a database of its own, so counts are exact.
/// </summary>
public sealed class IdempotencyKeyPurgeTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task Expired_completed_keys_are_deleted()
    {
        var database = await NewDatabaseAsync();
        await InsertKeysAsync(database, "completed", expiresIn: TimeSpan.FromHours(-1), count: 3);

        var deleted = await Purge(database).RunOnceAsync(CancellationToken.None);

        Assert.Equal(3, deleted);
        Assert.Equal(0, await CountAsync(database));
    }

    [Fact]
    public async Task Processing_keys_stay_whatever_their_age()
    {
        var database = await NewDatabaseAsync();
        await InsertKeysAsync(database, "processing", expiresIn: TimeSpan.FromDays(-365), count: 2);
        await InsertKeysAsync(database, "processing", expiresIn: TimeSpan.FromHours(-1), count: 2);

        var deleted = await Purge(database).RunOnceAsync(CancellationToken.None);

        Assert.Equal(0, deleted);
        Assert.Equal(4, await CountAsync(database, "processing"));
    }

    [Fact]
    public async Task Completed_keys_within_their_retention_stay()
    {
        var database = await NewDatabaseAsync();
        await InsertKeysAsync(database, "completed", expiresIn: TimeSpan.FromHours(1), count: 2);
        await InsertKeysAsync(database, "completed", expiresIn: TimeSpan.FromHours(-1), count: 1);

        var deleted = await Purge(database).RunOnceAsync(CancellationToken.None);

        Assert.Equal(1, deleted);
        Assert.Equal(2, await CountAsync(database, "completed"));
    }

    [Fact]
    public async Task One_run_deletes_at_most_its_batches_and_the_next_run_goes_on()
    {
        var database = await NewDatabaseAsync();
        await InsertKeysAsync(database, "completed", expiresIn: TimeSpan.FromHours(-1), count: 25);
        var purge = Purge(database, batchSize: 4, maxBatchesPerRun: 3);

        var first = await purge.RunOnceAsync(CancellationToken.None);
        var second = await purge.RunOnceAsync(CancellationToken.None);
        var third = await purge.RunOnceAsync(CancellationToken.None);

        Assert.Equal((12, 12, 1), (first, second, third));
        Assert.Equal(0, await CountAsync(database));
    }

    [Fact]
    public async Task Every_run_records_the_keys_it_deleted()
    {
        var database = await NewDatabaseAsync();
        await InsertKeysAsync(database, "completed", expiresIn: TimeSpan.FromHours(-1), count: 2);
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var recorded = new List<long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == IdempotencyKeyPurge.MeterName && instrument.Name == "payrail.idempotency.keys_purged")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => { lock (recorded) recorded.Add(value); });
        listener.Start();
        var purge = Purge(database, meters: services.GetRequiredService<IMeterFactory>());

        await purge.RunOnceAsync(CancellationToken.None);
        await purge.RunOnceAsync(CancellationToken.None);

        Assert.Equal([2L, 0L], recorded);
    }

    private async Task<NpgsqlDataSource> NewDatabaseAsync() => NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());

    private static IdempotencyKeyPurge Purge(NpgsqlDataSource database, int batchSize = 1_000, int maxBatchesPerRun = 100,
        IMeterFactory? meters = null) =>
        new(database, Options.Create(new IdempotencyKeyPurgeOptions { BatchSize = batchSize, MaxBatchesPerRun = maxBatchesPerRun }),
            TimeProvider.System, meters ?? new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>(),
            NullLogger<IdempotencyKeyPurge>.Instance);

    /// <summary>Keys as the API leaves them: processing with a lease (and no response yet), or completed with a stored answer.</summary>
    private static async Task InsertKeysAsync(NpgsqlDataSource database, string status, TimeSpan expiresIn, int count)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO idempotency_keys (scope, key, request_fingerprint, status, lease_expires_at, response_status, response_body, expires_at)
            SELECT 'buyer:b_purge', @prefix || n, 'fp', @status, now() - interval '1 hour',
                   CASE WHEN @status = 'completed' THEN 201 END, CASE WHEN @status = 'completed' THEN '{}' END, now() + @expires_in
            FROM generate_series(1, @count) AS n
            """);
        command.Parameters.AddWithValue("prefix", $"{status}-{Guid.NewGuid():N}-");
        command.Parameters.AddWithValue("status", status);
        command.Parameters.AddWithValue("expires_in", expiresIn);
        command.Parameters.AddWithValue("count", count);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> CountAsync(NpgsqlDataSource database, string? status = null)
    {
        await using var command = database.CreateCommand("SELECT count(*) FROM idempotency_keys WHERE @status::text IS NULL OR status = @status");
        command.Parameters.Add(new NpgsqlParameter("status", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)status ?? DBNull.Value });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}

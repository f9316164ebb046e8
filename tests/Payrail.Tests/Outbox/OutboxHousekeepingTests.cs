using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Payrail.Hosting;
using Payrail.Outbox;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Outbox;

/// <summary>Backlog counting and the bounded prune of published rows past their retention.</summary>
public sealed class OutboxHousekeepingTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task Only_rows_published_before_the_retention_are_pruned_in_bounded_statements()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        await using var pool = PostgresPool.ForWorker(connectionString, new PostgresPoolOptions());
        await using (var insert = pool.CreateCommand("""
            INSERT INTO outbox (id, aggregate_id, event_type, payload, published_at)
            SELECT gen_random_uuid(), gen_random_uuid(), 'payment.captured', '{}',
                   CASE WHEN n <= 25 THEN now() - interval '2 days' WHEN n <= 30 THEN now() END
            FROM generate_series(1, 35) n
            """))
            await insert.ExecuteNonQueryAsync();
        var metrics = new RelayMetrics(new TestMeters());
        var housekeeping = new OutboxHousekeeping(pool, Microsoft.Extensions.Options.Options.Create(new RelayOptions
        {
            PublishedRetention = TimeSpan.FromDays(1), PruneBatchSize = 10, MaxPruneBatchesPerRun = 2,
        }), metrics, TimeProvider.System, NullLogger<OutboxHousekeeping>.Instance);

        Assert.Equal(20, await housekeeping.PruneAsync(CancellationToken.None)); // two statements of ten: the run's bound
        Assert.Equal(5, await housekeeping.PruneAsync(CancellationToken.None));
        Assert.Equal(0, await housekeeping.PruneAsync(CancellationToken.None));

        await using var left = pool.CreateCommand("SELECT count(*) FILTER (WHERE published_at IS NULL), count(*) FROM outbox");
        await using var reader = await left.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal((5L, 10L), (reader.GetInt64(0), reader.GetInt64(1)));

        await housekeeping.MeasureBacklogAsync(CancellationToken.None);
        Assert.Equal(5, metrics.Backlog);
        Assert.Contains("backlog 5,", metrics.Summary(16));
    }
}

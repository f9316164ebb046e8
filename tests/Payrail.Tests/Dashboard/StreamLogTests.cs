using Npgsql;
using Payrail.Consumers;
using Payrail.Consumers.Dashboard;
using Payrail.Outbox;
using Payrail.Testing;
using Payrail.Tests.Consumers;
using Xunit;

namespace Payrail.Tests.Dashboard;

/// <summary>
/// The merchant-dashboard consumer's stream log (migration 0020) on real PostgreSQL: numbers in commit order (what makes
/// "everything after n" a gap-free resumption), one row per event however many groups apply it.
/// </summary>
public sealed class StreamLogTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly DashboardHandler Handler = new(new ConsumersOptions(), new DashboardFeed(new ConsumersOptions()));

    [Fact]
    public async Task A_reader_never_sees_a_stream_number_before_every_lower_one_has_committed()
    {
        await using var database = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        const string merchant = "m_order";
        const int writers = 24;
        var observedGaps = new List<string>();
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var seen = await SeqsAsync(database, merchant);
                if (!seen.SequenceEqual(Enumerable.Range(1, seen.Count).Select(i => (long)i))) observedGaps.Add(string.Join(',', seen));
            }
        });

        // Each writer appends, then holds its transaction open a little: a later number may be taken meanwhile.
        await Task.WhenAll(Enumerable.Range(0, writers).Select(i => Task.Run(async () =>
        {
            await using var connection = await database.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await Handler.ApplyAsync(transaction, [TestEvents.Event(EventTypes.PaymentInitiated, Guid.NewGuid(), 1, "initiated", merchant, "b_1")],
                CancellationToken.None);
            await Task.Delay(Random.Shared.Next(0, 15));
            await transaction.CommitAsync();
        })));
        await stop.CancelAsync();
        await reader;

        Assert.Empty(observedGaps);
        Assert.Equal(Enumerable.Range(1, writers).Select(i => (long)i), await SeqsAsync(database, merchant));
    }

    [Fact]
    public async Task An_event_applied_by_two_groups_is_logged_once_and_an_older_version_not_at_all()
    {
        await using var database = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        const string merchant = "m_twice";
        var payment = Guid.NewGuid();
        var events = TestEvents.Completed(payment, merchant, "b_1");

        foreach (var group in new[] { "a", "b" })
        {
            var handler = new DashboardHandler(new ConsumersOptions { Dashboard = { InstanceId = group } }, new DashboardFeed(new ConsumersOptions()));
            foreach (var e in events) await ApplyAsync(database, handler, e);
        }
        await ApplyAsync(database, Handler, events[0]); // version 1 arriving late: the row does not move back

        Assert.Equal([1L, 2, 3, 4], await SeqsAsync(database, merchant));
    }

    private static async Task ApplyAsync(NpgsqlDataSource database, DashboardHandler handler, OutboxEvent e)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await handler.ApplyAsync(transaction, [e], CancellationToken.None);
        await transaction.CommitAsync();
    }

    private static async Task<List<long>> SeqsAsync(NpgsqlDataSource database, string merchant)
    {
        await using var command = database.CreateCommand("SELECT seq FROM dashboard_updates WHERE merchant_id = @m ORDER BY seq");
        command.Parameters.AddWithValue("m", merchant);
        var seqs = new List<long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) seqs.Add(reader.GetInt64(0));
        return seqs;
    }
}

using System.Diagnostics.Metrics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Hosting;
using Payrail.Outbox;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Outbox;

/// <summary>
/// One relay test's world: a database of its own (so no other relay sees its rows), a topic of its own on the class's
/// devkafka, relays started and killed at will, and a Confluent.Kafka consumer that reads the topic back.
/// </summary>
internal sealed class RelayTestBed(string connectionString, string bootstrapServers, RelayOptions options) : IAsyncDisposable
{
    private readonly List<(OutboxRelay Relay, CancellationTokenSource Stop, NpgsqlDataSource Pool)> _relays = [];

    public RelayOptions Options { get; } = options;
    public string ConnectionString { get; } = connectionString;

    public static async Task<RelayTestBed> CreateAsync(PostgresFixture postgres, DevKafkaFixture kafka, Action<RelayOptions>? configure = null)
    {
        var options = new RelayOptions
        {
            Topic = "relay-" + Guid.NewGuid().ToString("N")[..12],
            DeadLetterTopic = "relay-dlq-" + Guid.NewGuid().ToString("N")[..12],
            TopicPartitions = 4,
            OwnershipCheckIntervalMs = 100,
            MaxIdlePollMs = 50,
            DeliveryTimeoutMs = 5_000,
            SocketTimeoutMs = 2_000,
            FailureBackoffMs = 50,
            MaxFailureBackoffMs = 500,
        };
        configure?.Invoke(options);
        Assert.Empty(options.Problems());
        return new RelayTestBed(await postgres.CreateDatabaseAsync(), kafka.BootstrapServers, options);
    }

    /// <summary>Starts a relay of its own (own pool, own session), as a second worker would run one.</summary>
    public OutboxRelay StartRelay(RelayCrashPoints? crashPoints = null)
    {
        var pool = PostgresPool.ForSessions(ConnectionString, "payrail-relay-test");
        var relay = new OutboxRelay(new RelaySessions(pool), Microsoft.Extensions.Options.Options.Create(Options), new KafkaOptions { BootstrapServers = bootstrapServers },
            new RelayMetrics(new TestMeters()), crashPoints ?? new RelayCrashPoints(), TimeProvider.System, NullLogger<OutboxRelay>.Instance);
        var stop = new CancellationTokenSource();
        _ = relay.StartAsync(stop.Token);
        lock (_relays) _relays.Add((relay, stop, pool));
        return relay;
    }

    /// <summary>
    /// Inserts <paramref name="eventsPerPayment"/> events for each payment, version by version, each version's rows of
    /// every payment in one transaction (shuffled), so one payment's events lie far apart in seq, mixed with others'.
    /// </summary>
    public async Task<IReadOnlyList<OutboxEvent>> InsertEventsAsync(IReadOnlyList<Guid> payments, int eventsPerPayment)
    {
        var all = new List<OutboxEvent>();
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        for (var version = 1; version <= eventsPerPayment; version++)
        {
            var events = payments.OrderBy(_ => Random.Shared.Next()).Select(p => Event(p, version)).ToList();
            await using var transaction = await connection.BeginTransactionAsync();
            await using var batch = new NpgsqlBatch(connection, transaction);
            foreach (var e in events) batch.BatchCommands.Add(OutboxWrites.Insert(e.PaymentId, [e])!);
            await batch.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
            all.AddRange(events);
        }
        return all;
    }

    public static OutboxEvent Event(Guid paymentId, int version)
    {
        var now = DateTimeOffset.UtcNow;
        var snapshot = new PaymentSnapshot(paymentId, "captured", 1999, "EUR", "m_relay", "b_relay", "automatic", "stripe", "pi_relay",
            1999, 0, null, null, now, now);
        return new OutboxEvent(Guid.CreateVersion7(now), EventTypes.PaymentCaptured, paymentId, version, now, "authorized", snapshot);
    }

    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    public Task<long> UnpublishedAsync() => ScalarAsync("SELECT count(*) FROM outbox WHERE published_at IS NULL");

    /// <summary>
    /// The topic's messages, in each partition's order, read until <paramref name="atLeast"/> arrived (distinct events
    /// when <paramref name="distinctEvents"/>: duplicates then do not count) or the deadline passed.
    /// </summary>
    public async Task<IReadOnlyList<WireMessage>> ReadTopicAsync(int atLeast, TimeSpan deadline, bool distinctEvents = false)
    {
        // A thread of its own: Consume blocks, and a blocked pool thread would slow every other test class running beside.
        return await Task.Factory.StartNew(() =>
        {
            using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
            {
                BootstrapServers = bootstrapServers,
                GroupId = "relay-test-" + Guid.NewGuid().ToString("N"),
                EnableAutoCommit = false,
                BrokerAddressFamily = BrokerAddressFamily.V4,
            }).Build();
            consumer.Assign(Enumerable.Range(0, Options.TopicPartitions).Select(p => new TopicPartitionOffset(Options.Topic, p, Offset.Beginning)));
            var messages = new List<WireMessage>();
            var events = new HashSet<Guid>();
            var until = DateTime.UtcNow + deadline;
            while ((distinctEvents ? events.Count : messages.Count) < atLeast && DateTime.UtcNow < until)
            {
                if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is not { } result) continue;
                var headers = result.Message.Headers.ToDictionary(h => h.Key, h => Encoding.UTF8.GetString(h.GetValueBytes()));
                var message = new WireMessage(result.Message.Key, headers, Encoding.UTF8.GetString(result.Message.Value),
                    result.Partition.Value, result.Offset.Value);
                messages.Add(message);
                events.Add(message.EventId);
            }
            consumer.Close();
            return messages;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public async ValueTask DisposeAsync()
    {
        List<(OutboxRelay Relay, CancellationTokenSource Stop, NpgsqlDataSource Pool)> relays;
        lock (_relays) relays = [.. _relays];
        foreach (var (relay, stop, pool) in relays)
        {
            await stop.CancelAsync();
            try
            {
                await relay.StopAsync(CancellationToken.None);
            }
            catch (InvalidOperationException)
            {
                // A relay a test crashed on purpose.
            }
            relay.Dispose();
            stop.Dispose();
            await pool.DisposeAsync();
        }
    }
}

/// <summary>One message as a consumer sees it.</summary>
internal sealed record WireMessage(string Key, IReadOnlyDictionary<string, string> Headers, string Body, int Partition, long Offset)
{
    public Guid EventId => Guid.Parse(Headers["ce_id"]);
}

/// <summary>An <see cref="IMeterFactory"/> outside a host.</summary>
internal sealed class TestMeters : IMeterFactory
{
    public Meter Create(MeterOptions options) => new(options);

    public void Dispose()
    {
    }
}

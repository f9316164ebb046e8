using Payrail.Tests.Worker;
using System.Collections.Concurrent;
using System.Text;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Payrail.Consumers;
using Payrail.Outbox;
using Payrail.Testing;
using Payrail.Worker;

namespace Payrail.Tests.Consumers;

/// <summary>
/// A `payrail worker` (all six consumers) against a test database and devkafka, on its own topic so tests do not see each
/// other's events. Disposing it stops it cleanly; a crash point kills one loop as a kill would.
/// </summary>
public sealed class ConsumerWorker : IAsyncDisposable
{
    public const int MaxAttempts = 3;

    private readonly WebApplication _app;

    private ConsumerWorker(WebApplication app, string managementUrl)
    {
        _app = app;
        Management = new HttpClient { BaseAddress = new Uri(managementUrl), Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Management { get; }
    public IServiceProvider Services => _app.Services;

    public static async Task<ConsumerWorker> StartAsync(string connectionString, string bootstrapServers, string topic, string stateDirectory,
        ConsumerCrashPoints? crashPoints = null)
    {
        var managementUrl = $"http://127.0.0.1:{FreePort.Next()}";
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(WorkerLoopsOff.AllBut(WorkerLoopsOff.Consumers)).AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = connectionString,
            ["Kafka:BootstrapServers"] = bootstrapServers,
            ["Worker:ManagementUrls"] = managementUrl,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Payrail.Consumers.ConsumerLoop"] = "Error",
            ["Idempotency:Purge:IntervalMs"] = "3600000",
            ["Consumers:Topic"] = topic,
            ["Consumers:DeadLetterTopic"] = topic + ".dlq",
            ["Consumers:TopicPartitions"] = "3",
            ["Consumers:MaxAttempts"] = MaxAttempts.ToString(),
            ["Consumers:RetryBaseDelayMs"] = "10",
            ["Consumers:MaxRetryDelayMs"] = "50",
            ["Consumers:PollTimeoutMs"] = "50",
            ["Consumers:AutoCommitIntervalMs"] = "100",
            ["Consumers:SessionTimeoutMs"] = "2000",
            ["Consumers:LagIntervalMs"] = "200",
            ["Consumers:Notifications:MailDirectory"] = Path.Combine(stateDirectory, "mail"),
            ["Consumers:Accounting:SettlementDirectory"] = Path.Combine(stateDirectory, "settlement"),
        }).Build();
        var app = WorkerHost.Build(configuration, services =>
        {
            if (crashPoints is not null) services.AddSingleton(crashPoints);
        });
        await app.StartAsync();
        return new ConsumerWorker(app, managementUrl);
    }

    public async ValueTask DisposeAsync()
    {
        Management.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Crash points that count every attempt per (consumer, event) and run a test's action.</summary>
public sealed class CountingCrashPoints
{
    public ConsumerCrashPoints Points { get; } = new();
    public ConcurrentDictionary<(string Consumer, Guid EventId), int> Attempts { get; } = new();

    public CountingCrashPoints(Action<string, ConsumerStage, OutboxEvent>? action = null)
    {
        Points.Set((consumer, stage, e) =>
        {
            if (stage == ConsumerStage.Handling) Attempts.AddOrUpdate((consumer, e.Id), 1, (_, n) => n + 1);
            action?.Invoke(consumer, stage, e);
        });
    }

    public int AttemptsOf(string consumer, Guid eventId) => Attempts.TryGetValue((consumer, eventId), out var n) ? n : 0;
}

/// <summary>Writes messages as the relay does: CloudEvents 1.0 binary mode, key = payment id, body = the outbox contract.</summary>
public sealed class EventWire : IDisposable
{
    private readonly IProducer<byte[]?, byte[]?> _producer;

    public EventWire(string bootstrapServers)
    {
        _producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers, EnableIdempotence = true, Acks = Acks.All, BrokerAddressFamily = BrokerAddressFamily.V4,
        }).Build();
    }

    public static Headers CloudEventHeaders(Guid id, string type) => new()
    {
        { CloudEventMessage.IdHeader, Encoding.UTF8.GetBytes(id.ToString()) },
        { CloudEventMessage.TypeHeader, Encoding.UTF8.GetBytes(type) },
        { CloudEventMessage.SourceHeader, Encoding.UTF8.GetBytes("/payrail/payments") },
        { CloudEventMessage.TimeHeader, Encoding.UTF8.GetBytes("2026-11-30T12:00:00Z") },
        { CloudEventMessage.SpecVersionHeader, Encoding.UTF8.GetBytes("1.0") },
        { "content-type", Encoding.UTF8.GetBytes("application/json") },
    };

    public async Task ProduceAsync(string topic, params OutboxEvent[] events)
    {
        foreach (var e in events)
            await ProduceRawAsync(topic, e.PaymentId, Encoding.UTF8.GetBytes(e.ToJson()), CloudEventHeaders(e.Id, e.Type));
    }

    public async Task ProduceRawAsync(string topic, Guid key, byte[]? body, Headers? headers) =>
        await _producer.ProduceAsync(topic, new Message<byte[]?, byte[]?>
            { Key = Encoding.UTF8.GetBytes(key.ToString()), Value = body, Headers = headers ?? [] });

    public void Dispose() => _producer.Dispose();
}

/// <summary>Events of the contract for a payment's life, as PaymentChange writes them (captured and completed share a version).</summary>
public static class TestEvents
{
    public static readonly DateTimeOffset Day = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    public static OutboxEvent Event(string type, Guid paymentId, int version, string status, string merchantId, string buyerId,
        long amount = 1999, string currency = "USD", long captured = 0, long refunded = 0, int secondsIntoDay = 0)
    {
        var at = Day.AddSeconds(secondsIntoDay);
        return new OutboxEvent(Guid.CreateVersion7(), type, paymentId, version, at, null,
            new PaymentSnapshot(paymentId, status, amount, currency, merchantId, buyerId, "automatic", "stripe", "pi_" + paymentId.ToString("N"),
                captured, refunded, status == "failed" ? "card_declined" : null, null, at, at));
    }

    /// <summary>initiated, authorized, captured, completed.</summary>
    public static OutboxEvent[] Completed(Guid paymentId, string merchantId, string buyerId, long amount = 1999, string currency = "USD") =>
    [
        Event(EventTypes.PaymentInitiated, paymentId, 1, "initiated", merchantId, buyerId, amount, currency),
        Event(EventTypes.PaymentAuthorized, paymentId, 2, "authorized", merchantId, buyerId, amount, currency),
        Event(EventTypes.PaymentCaptured, paymentId, 2, "captured", merchantId, buyerId, amount, currency, captured: amount),
        Event(EventTypes.PaymentCompleted, paymentId, 2, "captured", merchantId, buyerId, amount, currency, captured: amount),
    ];

    public static OutboxEvent Refunded(Guid paymentId, string merchantId, string buyerId, long amount = 1999, string currency = "USD") =>
        Event(EventTypes.PaymentRefunded, paymentId, 3, "refunded", merchantId, buyerId, amount, currency, captured: amount, refunded: amount);

    public static OutboxEvent[] Failed(Guid paymentId, string merchantId, string buyerId, long amount = 1999) =>
    [
        Event(EventTypes.PaymentInitiated, paymentId, 1, "initiated", merchantId, buyerId, amount),
        Event(EventTypes.PaymentFailed, paymentId, 2, "failed", merchantId, buyerId, amount),
    ];
}

/// <summary>What the consumers did, read back from their tables and files.</summary>
public static class Effects
{
    /// <summary>Every effect row about <paramref name="paymentIds"/> or <paramref name="merchantId"/>'s analytics, one line each, sorted.</summary>
    public static async Task<string> SnapshotAsync(string connectionString, Guid[] paymentIds, string merchantId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT coalesce(string_agg(line, E'\n' ORDER BY line), '') FROM (
              SELECT 'notification ' || id || ' ' || audience || ' ' || subject || ' sent=' || (sent_at IS NOT NULL) AS line
                FROM notifications WHERE payment_id = ANY(@ids)
              UNION ALL SELECT 'fraud ' || event_id || ' ' || score || ' ' || array_to_string(reasons, ',') FROM fraud_reviews WHERE payment_id = ANY(@ids)
              UNION ALL SELECT 'observation ' || event_id || ' ' || kind FROM fraud_observations WHERE payment_id = ANY(@ids)
              UNION ALL SELECT 'settlement ' || payment_id || ' ' || kind || ' ' || amount_minor FROM settlement_lines WHERE payment_id = ANY(@ids)
              UNION ALL SELECT 'loyalty ' || posting_id || ' ' || account || ' ' || points FROM loyalty_entries WHERE payment_id = ANY(@ids)
              UNION ALL SELECT 'dashboard ' || payment_id || ' ' || status || ' v' || payment_version FROM dashboard_payments WHERE payment_id = ANY(@ids)
              UNION ALL SELECT 'analytics ' || day || ' ' || currency || ' ' || status || ' ' || payments || ' ' || amount_minor
                FROM analytics_daily WHERE merchant_id = @merchant_id
            ) effects
            """, connection);
        command.Parameters.AddWithValue("ids", paymentIds);
        command.Parameters.AddWithValue("merchant_id", merchantId);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    public static async Task<long> CountAsync(string connectionString, string sql, Guid paymentId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("id", paymentId);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    public static async Task<long> CountAsync(string connectionString, string sql, Guid[] paymentIds)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("ids", paymentIds);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    /// <summary>Reads a dead-letter topic from its beginning until <paramref name="expected"/> messages arrived (deadline 30 s), then a little longer.</summary>
    public static List<ConsumeResult<byte[], byte[]>> ReadDeadLetters(string bootstrapServers, string topic, int expected)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers, GroupId = "test-dlq-reader-" + Guid.NewGuid().ToString("N"), EnableAutoCommit = false,
            BrokerAddressFamily = BrokerAddressFamily.V4,
        }).Build();
        consumer.Assign(Partitions(bootstrapServers, topic).Select(p => new TopicPartitionOffset(p, Offset.Beginning)));
        var read = new List<ConsumeResult<byte[], byte[]>>();
        var until = DateTime.UtcNow.AddSeconds(30);
        while (read.Count < expected && DateTime.UtcNow < until)
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } result) read.Add(result);
        // A little longer: more than expected would be a duplicate dead letter.
        var extraUntil = DateTime.UtcNow.AddMilliseconds(300);
        while (DateTime.UtcNow < extraUntil)
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } result) read.Add(result);
        return read;
    }

    public static string Header(ConsumeResult<byte[], byte[]> result, string name) =>
        result.Message.Headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : "";

    /// <summary>The partitions the broker has for <paramref name="topic"/> (a producer may have auto-created it with the broker's default).</summary>
    public static IReadOnlyList<TopicPartition> Partitions(string bootstrapServers, string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig
            { BootstrapServers = bootstrapServers, BrokerAddressFamily = BrokerAddressFamily.V4 }).Build();
        return admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions
            .Select(p => new TopicPartition(topic, p.PartitionId)).ToList();
    }

    /// <summary>True when every group has committed up to the end of every partition of <paramref name="topic"/>.</summary>
    public static bool CaughtUp(string bootstrapServers, string topic) =>
        ConsumerGroupLag.Read(bootstrapServers, topic, ConsumerGroupLag.Groups, TimeSpan.FromSeconds(5)).All(l => l.Lag == 0);

    public static Task WaitCaughtUpAsync(string bootstrapServers, string topic, string because) =>
        Eventually.TrueAsync(() => CaughtUp(bootstrapServers, topic), TimeSpan.FromSeconds(60), because);

    /// <summary>
    /// Caught up, and every stored message sent: the notifications dispatcher sends from the table after the groups'
    /// commits (its own loop), so a test that reads mail files waits for it too, while the worker still runs.
    /// </summary>
    public static async Task WaitCaughtUpAndSentAsync(string bootstrapServers, string topic, string connectionString, string because)
    {
        await WaitCaughtUpAsync(bootstrapServers, topic, because);
        await Eventually.TrueAsync(async () => await CountAsync(connectionString, "SELECT count(*) FROM notifications WHERE sent_at IS NULL AND @id IS NOT NULL",
            Guid.Empty) == 0, TimeSpan.FromSeconds(60), "every stored message is sent");
    }
}

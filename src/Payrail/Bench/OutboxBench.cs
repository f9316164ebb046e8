using System.Diagnostics;
using System.Globalization;
using DevKafka.Broker;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Payrail.Hosting;
using Payrail.Outbox;

namespace Payrail.Bench;

/// <summary>
/// `payrail bench outbox` (issue 10 "Performance"), not a test. Its relay half: pre-fill N outbox rows in a scratch
/// database of its own (never the platform's outbox, whose events the running worker would publish to the consumers),
/// then time the real <see cref="OutboxRelay"/> draining them into Kafka: events relayed per second. Target ≥ 15,000/s.
/// The consumers' half is <see cref="ConsumersBench"/>: the six consumers drain that topic (messages/s per group), and
/// commit → effect lag p50/p99 per consumer while payments run under `up`.
/// </summary>
public static class OutboxBench
{
    private const string Database = "payrail_bench_outbox";
    private const int MaxEvents = 10_000_000;
    private const int EventsPerPayment = 5;
    private const int Buyers = 1_000;

    /// <summary>A payment's five events, in order (every consumer has work in it: the consumers' drain reads the same topic).</summary>
    private static readonly (string Type, string Status)[] Life =
    [
        (EventTypes.PaymentInitiated, "initiated"), (EventTypes.PaymentAuthorized, "authorized"), (EventTypes.PaymentCaptured, "captured"),
        (EventTypes.PaymentCompleted, "captured"), (EventTypes.PaymentRefunded, "refunded"),
    ];

    public static async Task<int> RunAsync(string adminConnectionString, string? bootstrap, int events, int relays, int batchSize,
        int consumerBatch, CancellationToken cancellationToken)
    {
        if (events is < 1 or > MaxEvents || relays is < 1 or > 8 || batchSize is < 1 or > 50_000 || consumerBatch is < 1 or > 10_000)
        {
            Console.Error.WriteLine($"--events 1-{MaxEvents}, --relays 1-8, --batch 1-50000, --consumer-batch 1-10000");
            return 2;
        }
        DevKafkaBroker? broker = null;
        var dataDirectory = Path.Combine(Path.GetTempPath(), "payrail-bench-outbox-" + Guid.NewGuid().ToString("N"));
        try
        {
            if (bootstrap is null)
            {
                broker = await DevKafkaBroker.StartAsync(new DevKafkaOptions { Port = 0, DataDirectory = dataDirectory, Log = _ => { } });
                bootstrap = broker.BootstrapServers;
                Console.WriteLine($"in-process devkafka at {bootstrap} (fsync before acks=all)");
            }
            var connectionString = await ScratchDatabase.CreateAsync(adminConnectionString, Database, null, cancellationToken);
            Console.WriteLine($"pre-filling {events:N0} outbox rows ({events / EventsPerPayment:N0} payments) in database {Database} ...");
            await PrefillAsync(connectionString, events, cancellationToken);
            var (relayed, topic) = await RelayThroughputAsync(connectionString, bootstrap, events, relays, batchSize, cancellationToken);
            if (!relayed) return 1;
            // The consumer groups have the platform's names: on a shared broker they would join the platform's groups.
            if (broker is null) Console.WriteLine("consumers' drain skipped: it runs against the in-process broker only (no --bootstrap)");
            else await ConsumersBench.ThroughputAsync(connectionString, bootstrap, topic, events, consumerBatch, cancellationToken);
            return 0;
        }
        finally
        {
            if (broker is not null) await broker.DisposeAsync();
            if (Directory.Exists(dataDirectory)) Directory.Delete(dataDirectory, recursive: true);
        }
    }

    /// <summary>Starts <paramref name="relays"/> relays on the pre-filled outbox and times them until no row is unpublished.</summary>
    private static async Task<(bool Drained, string Topic)> RelayThroughputAsync(string connectionString, string bootstrap, int events,
        int relays, int batchSize, CancellationToken cancellationToken)
    {
        var options = new RelayOptions { Topic = $"bench-outbox-{Guid.NewGuid():N}"[..25], BatchSize = batchSize, Instances = relays };
        options.DeadLetterTopic = options.Topic + ".dlq";
        await OutboxTopics.EnsureAsync(bootstrap, options, cancellationToken);
        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        // The worker's sessions: unpooled and auto-preparing (RelaySessions.Prepared), so the bench times what `up` runs.
        await using var sessions = PostgresPool.ForSessions(RelaySessions.Prepared(connectionString), SessionName);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var started = Enumerable.Range(0, relays).Select(_ => new OutboxRelay(new RelaySessions(sessions),
            Microsoft.Extensions.Options.Options.Create(options), new KafkaOptions { BootstrapServers = bootstrap }, new RelayMetrics(meters),
            new RelayCrashPoints(), TimeProvider.System, NullLogger<OutboxRelay>.Instance)).ToList();

        var clock = Stopwatch.StartNew();
        var ownCpu = Process.GetCurrentProcess().TotalProcessorTime;
        foreach (var relay in started) await relay.StartAsync(stop.Token);
        var left = (long)events;
        var deadline = TimeSpan.FromMinutes(10);
        double relayBackendsCpu;
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync(cancellationToken);
            while (left > 0 && clock.Elapsed < deadline)
            {
                await Task.Delay(50, cancellationToken);
                await using var count = new NpgsqlCommand("SELECT count(*) FROM outbox WHERE published_at IS NULL", connection);
                left = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
            }
            // Before the relays stop: their session backends end with them (and their CPU time with the processes).
            relayBackendsCpu = await RelayBackendsCpuSecondsAsync(connection, cancellationToken);
        }
        var elapsed = clock.Elapsed;
        var benchCpu = (Process.GetCurrentProcess().TotalProcessorTime - ownCpu).TotalSeconds;
        await stop.CancelAsync();
        foreach (var relay in started)
        {
            await relay.StopAsync(CancellationToken.None);
            relay.Dispose();
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"relayed          {(events - left) / elapsed.TotalSeconds,10:N0} events/s  ({events - left:N0} events in {elapsed.TotalSeconds:N2} s, " +
            $"{relays} relay(s), batch {batchSize}, acks=all, idempotent, marked published)"));
        var relayedEvents = Math.Max(1, events - left);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"CPU per event    this process (relays + in-process devkafka) {benchCpu * 1e6 / relayedEvents,6:0} µs, " +
            $"PostgreSQL (the relays' session backends) {relayBackendsCpu * 1e6 / relayedEvents,6:0} µs"));
        if (left > 0) Console.WriteLine($"not drained within {deadline.TotalMinutes:0} min: {left:N0} rows left");
        return (left == 0, options.Topic);
    }

    private const string SessionName = "payrail-bench-relay";

    /// <summary>
    /// CPU seconds of the relays' PostgreSQL backends from /proc (the server runs on this machine: `up`'s or the
    /// provisioned one); 0 for a server elsewhere. Other sessions, the counting one included, are not counted.
    /// </summary>
    private static async Task<double> RelayBackendsCpuSecondsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE application_name = @name", connection);
        command.Parameters.AddWithValue("name", SessionName);
        var total = 0.0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) total += WorkerCpuBench.CpuSeconds(reader.GetInt32(0));
        return total;
    }

    /// <summary>N realistic rows (the contract's JSON, a payment's 5 events, payments interleaved) by binary COPY, then VACUUM ANALYZE.</summary>
    private static async Task PrefillAsync(string connectionString, int events, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        var payments = Enumerable.Range(0, Math.Max(1, events / EventsPerPayment)).Select(_ => Guid.NewGuid()).ToArray();
        await using (var copy = await connection.BeginBinaryImportAsync(
            "COPY outbox (id, aggregate_id, event_type, payload, occurred_at) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            var now = DateTimeOffset.UtcNow;
            for (var i = 0; i < events; i++)
            {
                var payment = payments[i % payments.Length];
                var (type, status) = Life[i / payments.Length % Life.Length];
                var snapshot = new PaymentSnapshot(payment, status, 1999, "EUR", "m_bench", "b_bench_" + i % payments.Length % Buyers, "automatic", "stripe",
                    "pi_bench", status is "initiated" or "authorized" ? 0 : 1999, status == "refunded" ? 1999 : 0, null, null, now, now);
                var e = new OutboxEvent(Guid.CreateVersion7(now), type, payment, 1 + i / payments.Length, now, null, snapshot);
                await copy.StartRowAsync(cancellationToken);
                await copy.WriteAsync(e.Id, NpgsqlDbType.Uuid, cancellationToken);
                await copy.WriteAsync(payment, NpgsqlDbType.Uuid, cancellationToken);
                await copy.WriteAsync(e.Type, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(e.ToJson(), NpgsqlDbType.Jsonb, cancellationToken);
                await copy.WriteAsync(now, NpgsqlDbType.TimestampTz, cancellationToken);
            }
            await copy.CompleteAsync(cancellationToken);
        }
        await using var vacuum = new NpgsqlCommand("VACUUM ANALYZE outbox", connection) { CommandTimeout = 600 };
        await vacuum.ExecuteNonQueryAsync(cancellationToken);
    }
}

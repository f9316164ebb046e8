using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Payrail.Auth;
using Payrail.Consumers;
using Payrail.Worker;
using Spectre.Console;

namespace Payrail.Bench;

/// <summary>
/// The consumers' half of `payrail bench outbox` (issue 10 "Performance"). Throughput: the six consumers of a worker of
/// their own drain the topic the relay half filled, into the scratch database: messages/s per group. Lag: while
/// payments run at half the closed-loop rate against the running platform, commit → effect lag p50/p99 per consumer,
/// read from the platform's own tables afterwards.
/// </summary>
public static class ConsumersBench
{
    private static readonly TimeSpan MaxDrain = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan MaxCatchUp = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan LagPoll = TimeSpan.FromMilliseconds(200);

    /// <summary>Starts the six consumers on <paramref name="topic"/> and times each group until it has committed the whole topic.</summary>
    public static async Task ThroughputAsync(string connectionString, string bootstrap, string topic, long messages, int maxBatch,
        CancellationToken cancellationToken)
    {
        var state = Path.Combine(Path.GetTempPath(), "payrail-bench-consumers-" + Guid.NewGuid().ToString("N"));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = connectionString,
            ["Kafka:BootstrapServers"] = bootstrap,
            ["Worker:ManagementUrls"] = $"http://127.0.0.1:{FreePort()}",
            ["Relay:Enabled"] = "false",
            ["Sweeper:Enabled"] = "false",
            // Only the consumers run: settlement and reconciliation would reach for a PSP this bench does not have.
            ["Settlement:Enabled"] = "false",
            ["Reconciliation:Enabled"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Consumers:Topic"] = topic,
            ["Consumers:DeadLetterTopic"] = topic + ".dlq",
            ["Consumers:MaxBatchMessages"] = maxBatch.ToString(CultureInfo.InvariantCulture),
            ["Consumers:AutoCommitIntervalMs"] = "100",
            ["Consumers:Notifications:MailDirectory"] = Path.Combine(state, "mail"),
            ["Consumers:Accounting:SettlementDirectory"] = Path.Combine(state, "settlement"),
        }).Build();
        var clock = Stopwatch.StartNew();
        var app = WorkerHost.Build(configuration);
        var drained = new Dictionary<string, TimeSpan>();
        try
        {
            await app.StartAsync(cancellationToken);
            while (drained.Count < ConsumerGroupLag.Groups.Count && clock.Elapsed < MaxDrain)
            {
                await Task.Delay(LagPoll, cancellationToken);
                foreach (var lag in ConsumerGroupLag.Read(bootstrap, topic, ConsumerGroupLag.Groups, TimeSpan.FromSeconds(5)))
                    if (lag.Lag == 0) drained.TryAdd(lag.Group, clock.Elapsed);
            }
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
            if (Directory.Exists(state)) Directory.Delete(state, recursive: true);
        }
        var applied = await AppliedPerConsumerAsync(connectionString, cancellationToken);
        var table = Table("consumer (drain)", "messages/s", "applied", "applied/s", "s");
        foreach (var group in ConsumerGroupLag.Groups)
        {
            var seconds = drained.TryGetValue(group, out var at) ? at.TotalSeconds : double.NaN;
            var effects = applied.GetValueOrDefault(group);
            table.AddRow(group, F(messages / seconds, "N0"), F(effects, "N0"), F(effects / seconds, "N0"), F(seconds, "0.00"));
        }
        AnsiConsole.Write(table);
        Console.WriteLine($"{messages:N0} messages on {topic}, all six groups at once in one worker, batches of up to {maxBatch}; " +
            "s = from the worker's start until the group had committed the whole topic (not drained within 10 min: NaN)");
    }

    /// <summary>
    /// Payments at half the closed-loop rate (measured first, unless given) against the platform's API for
    /// <paramref name="seconds"/>; when every group has caught up, commit → effect lag per consumer from its inbox rows.
    /// </summary>
    public static async Task<int> LagAsync(IConfiguration configuration, string connectionString, int seconds, int? rate,
        CancellationToken cancellationToken)
    {
        var apiUrl = new Uri(configuration["Api:Urls"]?.Split(';')[0] ?? "http://127.0.0.1:8081");
        var token = DevTokens.Issue(AuthOptions.ForDevTool(configuration), Roles.Buyer, $"bench_lag_{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}",
            null, TimeSpan.FromSeconds(3 * seconds + 600), TimeProvider.System.GetUtcNow());
        const string merchant = "m_demo";
        if (rate is null)
        {
            var closed = await PaymentsBench.RunAsync(new PaymentsBenchOptions(apiUrl, [token], merchant, Concurrency: 16,
                TimeSpan.FromSeconds(Math.Min(10, seconds)), null, RequestTimeoutMs: 30_000, Label: "closed loop"), cancellationToken);
            rate = Math.Max(1, (int)(closed.PerSecond / 2));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"closed loop     {closed.PerSecond,10:N0} payments/s (16 clients); half: {rate}/s"));
        }
        var from = DateTimeOffset.UtcNow;
        var run = await PaymentsBench.RunAsync(new PaymentsBenchOptions(apiUrl, [token], merchant, Concurrency: 256,
            TimeSpan.FromSeconds(seconds), rate, RequestTimeoutMs: 30_000, Label: "open loop"), cancellationToken);
        var to = DateTimeOffset.UtcNow;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"payments        {run.PerSecond,10:N0} payments/s open loop at {rate}/s for {seconds} s, {run.Failed} failed, p99 {run.Millis(99):0.0} ms"));
        var bootstrap = configuration["Kafka:BootstrapServers"] ?? "127.0.0.1:9092";
        var topic = configuration["Consumers:Topic"] ?? "payments.v1";
        var caughtUp = Stopwatch.StartNew();
        while (caughtUp.Elapsed < MaxCatchUp &&
               !ConsumerGroupLag.Read(bootstrap, topic, ConsumerGroupLag.Groups, TimeSpan.FromSeconds(5)).All(l => l.Lag == 0))
            await Task.Delay(LagPoll, cancellationToken);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"caught up       {caughtUp.Elapsed.TotalSeconds,10:0.0} s after the load ended"));

        var table = Table("consumer (lag)", "events", "p50 ms", "p99 ms", "max ms");
        var worstP99 = 0.0;
        foreach (var (consumer, events, p50, p99, max) in await LagPerConsumerAsync(connectionString, from, to, cancellationToken))
        {
            table.AddRow(consumer, F(events, "N0"), F(p50, "0.0"), F(p99, "0.0"), F(max, "0.0"));
            worstP99 = Math.Max(worstP99, p99);
        }
        AnsiConsole.Write(table);
        Console.WriteLine("lag = the inbox row's time (its transaction's start, a few ms before the effect commits) minus the event's " +
            "occurred_at (taken just before the payment change commits); target p99 < 500 ms");
        return run.Failed == 0 && worstP99 < 500 ? 0 : 1;
    }

    private static async Task<Dictionary<string, long>> AppliedPerConsumerAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT consumer, count(*) FROM consumer_inbox GROUP BY consumer", connection);
        var applied = new Dictionary<string, long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) applied[reader.GetString(0)] = reader.GetInt64(1);
        return applied;
    }

    private static async Task<List<(string Consumer, long Events, double P50, double P99, double Max)>> LagPerConsumerAsync(
        string connectionString, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT i.consumer, count(*),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY lag_ms), percentile_cont(0.99) WITHIN GROUP (ORDER BY lag_ms), max(lag_ms)
            FROM consumer_inbox i JOIN outbox o ON o.id = i.event_id,
                 LATERAL (SELECT extract(epoch FROM i.processed_at - o.occurred_at)::float8 * 1000 AS lag_ms) l
            WHERE o.occurred_at >= @from AND o.occurred_at < @to
            GROUP BY i.consumer ORDER BY i.consumer
            """, connection) { CommandTimeout = 120 };
        command.Parameters.AddWithValue("from", from);
        command.Parameters.AddWithValue("to", to);
        var rows = new List<(string, long, double, double, double)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add((reader.GetString(0), reader.GetInt64(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetDouble(4)));
        return rows;
    }

    /// <summary>A port nothing listens on now (the management listener needs a fixed one).</summary>
    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Table Table(string first, params string[] columns) =>
        new Table().Border(TableBorder.Simple).AddColumn(new TableColumn(first).NoWrap())
            .AddColumns(columns.Select(c => new TableColumn(c).RightAligned()).ToArray());

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}

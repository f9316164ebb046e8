using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Npgsql;
using Payrail.Consumers;
using Payrail.Hosting;

namespace Payrail.Dashboard;

/// <summary>Each consumer group's lag and the dead-letter topic's size, read from the broker as `payrail status` does.</summary>
public sealed class ConsumersOpsSection(KafkaOptions kafka, IConfiguration configuration) : IOpsSection
{
    private static readonly TimeSpan BrokerTimeout = TimeSpan.FromSeconds(2);

    public int Order => 100;

    public async Task<string> RenderAsync(CancellationToken cancellationToken)
    {
        var topic = configuration["Consumers:Topic"] is { Length: > 0 } t ? t : "payments.v1";
        var deadLetterTopic = configuration["Consumers:DeadLetterTopic"] is { Length: > 0 } d ? d : "payments.v1.dlq";
        // librdkafka's calls block: off the request thread, each bounded by BrokerTimeout.
        var lagsTask = Task.Run(() => ConsumerGroupLag.Read(kafka.BootstrapServers, topic, ConsumerGroupLag.Groups, BrokerTimeout), cancellationToken);
        var deadLettersTask = Task.Run(() => DeadLetterCount(kafka.BootstrapServers, deadLetterTopic), cancellationToken);

        var body = new StringBuilder(2 * 1024);
        body.Append("<section id=\"consumers\"><h2>Consumers on ").Append(Html.E(topic)).Append("</h2><div class=\"scroll\"><table id=\"lag\"><thead><tr>")
            .Append("<th>Group</th><th class=\"num\">Lag</th></tr></thead><tbody>");
        foreach (var lag in await lagsTask)
            body.Append("<tr><td>").Append(Html.E(lag.Group)).Append("</td><td class=\"num\">")
                .Append(lag.Lag is { } n ? Html.Int(n) : "? " + Html.E(lag.Problem)).Append("</td></tr>");
        var deadLetters = await deadLettersTask;
        body.Append("</tbody></table></div><p id=\"dlq\">Dead letters on ").Append(Html.E(deadLetterTopic)).Append(": <strong>")
            .Append(deadLetters is { } count ? Html.Int(count) : "?").Append("</strong></p></section>");
        return body.ToString();
    }

    /// <summary>Messages on the dead-letter topic (high minus low watermark per partition); null when the broker does not say.</summary>
    private static long? DeadLetterCount(string bootstrapServers, string topic)
    {
        try
        {
            var config = new AdminClientConfig { BootstrapServers = bootstrapServers, BrokerAddressFamily = BrokerAddressFamily.V4 };
            config.Set("allow.auto.create.topics", "false");
            using var admin = new AdminClientBuilder(config).SetLogHandler((_, _) => { }).Build();
            var metadata = admin.GetMetadata(topic, BrokerTimeout).Topics.Single();
            if (metadata.Error.Code != ErrorCode.NoError) return metadata.Error.Code == ErrorCode.UnknownTopicOrPart ? 0 : null;
            using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
            {
                BootstrapServers = bootstrapServers, GroupId = "payrail-dashboard-ops", BrokerAddressFamily = BrokerAddressFamily.V4,
            }).SetLogHandler((_, _) => { }).Build();
            long total = 0;
            foreach (var partition in metadata.Partitions)
            {
                var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition.PartitionId), BrokerTimeout);
                total += Math.Max(0, watermarks.High.Value - watermarks.Low.Value);
            }
            return total;
        }
        catch (KafkaException)
        {
            return null;
        }
    }
}

/// <summary>The payments stuck in flight past the sweeper's threshold, which the sweeper is working on.</summary>
public sealed class StuckPaymentsOpsSection(NpgsqlDataSource database, DashboardWebOptions options, IConfiguration configuration) : IOpsSection
{
    private const int MaxStuckListed = 100;

    public sealed record StuckPayment(Guid Id, string MerchantId, string Status, DateTimeOffset UpdatedAt, int Checks, DateTimeOffset? NextCheckAt);

    public int Order => 200;

    public async Task<string> RenderAsync(CancellationToken cancellationToken)
    {
        var threshold = TimeSpan.TryParse(configuration["Sweeper:Threshold"], CultureInfo.InvariantCulture, out var th) ? th : TimeSpan.FromSeconds(60);
        var (stuck, stuckTotal) = await StuckAsync(threshold, cancellationToken);
        var body = new StringBuilder(2 * 1024);
        body.Append("<section id=\"stuck-payments\"><h2>Stuck payments</h2><p>In flight for longer than the sweeper's threshold (")
            .Append(Html.E(threshold.ToString())).Append("): <strong id=\"stuck-count\">").Append(Html.Int(stuckTotal)).Append("</strong></p>");
        if (stuck.Count > 0)
        {
            body.Append("<div class=\"scroll\"><table id=\"stuck\"><thead><tr><th>Payment</th><th>Merchant</th><th>Status</th><th>Since</th>")
                .Append("<th class=\"num\">Sweeper checks</th><th>Next check</th></tr></thead><tbody>");
            foreach (var s in stuck)
                body.Append("<tr><td><a href=\"/payments/").Append(s.Id).Append("\">").Append(s.Id).Append("</a></td><td>").Append(Html.E(s.MerchantId))
                    .Append("</td><td>").Append(Html.E(s.Status)).Append("</td><td>").Append(Html.E(Html.Time(s.UpdatedAt)))
                    .Append("</td><td class=\"num\">").Append(Html.Int(s.Checks)).Append("</td><td>")
                    .Append(s.NextCheckAt is { } next ? Html.E(Html.Time(next)) : "due").Append("</td></tr>");
            body.Append("</tbody></table></div>");
        }
        return body.Append("</section>").ToString();
    }

    private async Task<(List<StuckPayment>, long)> StuckAsync(TimeSpan threshold, CancellationToken cancellationToken)
    {
        // payments_in_flight (migration 0002) holds exactly the initiated and processing rows.
        await using var batch = database.CreateBatch();
        batch.Timeout = options.DatabaseTimeoutSeconds;
        var list = new NpgsqlBatchCommand("""
            SELECT id, merchant_id, status, updated_at, sweep_checks, sweep_next_check_at FROM payments
            WHERE status IN ('initiated', 'processing') AND updated_at < now() - @threshold ORDER BY updated_at LIMIT @limit
            """);
        list.Parameters.AddWithValue("threshold", threshold);
        list.Parameters.AddWithValue("limit", MaxStuckListed);
        var count = new NpgsqlBatchCommand("SELECT count(*) FROM payments WHERE status IN ('initiated', 'processing') AND updated_at < now() - @threshold");
        count.Parameters.AddWithValue("threshold", threshold);
        batch.BatchCommands.Add(list);
        batch.BatchCommands.Add(count);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var stuck = new List<StuckPayment>();
        while (await reader.ReadAsync(cancellationToken))
            stuck.Add(new StuckPayment(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3),
                reader.GetInt32(4), reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5)));
        await reader.NextResultAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (stuck, reader.GetInt64(0));
    }
}

/// <summary>
/// Reconciliation's latest runs (window, status, lines, breaks per bucket, result hash) and its latest alerts, each alert
/// a break raised once per line and bucket (migration 0021). Read only: what to do about a break is the on-call's call.
/// </summary>
public sealed class ReconciliationOpsSection(NpgsqlDataSource database, DashboardWebOptions options) : IOpsSection
{
    private const int MaxRunsListed = 20;
    private const int MaxAlertsListed = 50;

    private sealed record Run(long Id, DateTimeOffset From, DateTimeOffset To, string Trigger, bool DryRun, string Status,
        DateTimeOffset StartedAt, long PspLines, long Breaks, string Buckets, string? ResultHash, string? Failure);

    private sealed record Alert(DateTimeOffset RaisedAt, long RunId, string Bucket, string MatchKey, string? Reason);

    public int Order => 300;

    public async Task<string> RenderAsync(CancellationToken cancellationToken)
    {
        var (runs, alerts) = await ReadAsync(cancellationToken);
        var body = new StringBuilder(4 * 1024);
        body.Append("<section id=\"reconciliation\"><h2>Reconciliation</h2>");
        if (runs.Count == 0) return body.Append("<p class=\"muted\">No reconciliation run yet.</p></section>").ToString();
        body.Append("<div class=\"scroll\"><table id=\"reconciliation-runs\"><thead><tr><th>Run</th><th>Window</th><th>Status</th>")
            .Append("<th class=\"num\">PSP lines</th><th class=\"num\">Breaks</th><th>Buckets</th><th>Result</th></tr></thead><tbody>");
        foreach (var r in runs)
            body.Append("<tr data-id=\"").Append(r.Id).Append("\" data-status=\"").Append(Html.E(r.Status)).Append("\"><td>").Append(r.Id)
                .Append(' ').Append(Html.E(r.Trigger)).Append(r.DryRun ? " (dry run)" : "").Append("<br>").Append(Html.E(Html.Time(r.StartedAt)))
                .Append("</td><td>").Append(Html.E(Html.Time(r.From))).Append(" → ").Append(Html.E(Html.Time(r.To)))
                .Append("</td><td>").Append(Html.E(r.Status)).Append("</td><td class=\"num\">").Append(Html.Int(r.PspLines))
                .Append("</td><td class=\"num\">").Append(Html.Int(r.Breaks)).Append("</td><td>").Append(Html.E(r.Buckets))
                .Append("</td><td>").Append(Html.E(r.Failure ?? r.ResultHash?[..12])).Append("</td></tr>");
        body.Append("</tbody></table></div><h3>Latest alerts</h3>");
        if (alerts.Count == 0) return body.Append("<p id=\"reconciliation-no-alerts\" class=\"muted\">No alert.</p></section>").ToString();
        body.Append("<div class=\"scroll\"><table id=\"reconciliation-alerts\"><thead><tr><th>Raised</th><th>Run</th><th>Bucket</th>")
            .Append("<th>Line</th><th>Reason</th></tr></thead><tbody>");
        foreach (var a in alerts)
            body.Append("<tr><td>").Append(Html.E(Html.Time(a.RaisedAt))).Append("</td><td>").Append(a.RunId).Append("</td><td>")
                .Append(Html.E(a.Bucket)).Append("</td><td>").Append(Html.E(a.MatchKey)).Append("</td><td>").Append(Html.E(a.Reason))
                .Append("</td></tr>");
        return body.Append("</tbody></table></div></section>").ToString();
    }

    private async Task<(List<Run>, List<Alert>)> ReadAsync(CancellationToken cancellationToken)
    {
        await using var batch = database.CreateBatch();
        batch.Timeout = options.DatabaseTimeoutSeconds;
        var runs = new NpgsqlBatchCommand("""
            SELECT id, window_from, window_to, trigger, dry_run, status, started_at, psp_lines, breaks, buckets::text, result_hash, failure
            FROM reconciliation_runs ORDER BY id DESC LIMIT @limit
            """);
        runs.Parameters.AddWithValue("limit", MaxRunsListed);
        // The alert's reason is the one its run recorded for that line and bucket. An alert is a break, never matched or
        // expected: saying so lets the lookup use the run's breaks index (items have no other, migration 0025).
        var alerts = new NpgsqlBatchCommand("""
            SELECT a.raised_at, a.run_id, a.bucket, a.match_key,
                   (SELECT i.reason FROM reconciliation_items i
                    WHERE i.run_id = a.run_id AND i.match_key = a.match_key AND i.bucket = a.bucket
                      AND i.bucket NOT IN ('matched', 'expected') LIMIT 1)
            FROM reconciliation_alerts a ORDER BY a.raised_at DESC, a.match_key LIMIT @limit
            """);
        alerts.Parameters.AddWithValue("limit", MaxAlertsListed);
        batch.BatchCommands.Add(runs);
        batch.BatchCommands.Add(alerts);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var runList = new List<Run>();
        while (await reader.ReadAsync(cancellationToken))
            runList.Add(new Run(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetFieldValue<DateTimeOffset>(2),
                reader.GetString(3), reader.GetBoolean(4), reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6), reader.GetInt64(7),
                reader.GetInt64(8), reader.GetString(9), reader.IsDBNull(10) ? null : reader.GetString(10),
                reader.IsDBNull(11) ? null : reader.GetString(11)));
        await reader.NextResultAsync(cancellationToken);
        var alertList = new List<Alert>();
        while (await reader.ReadAsync(cancellationToken))
            alertList.Add(new Alert(reader.GetFieldValue<DateTimeOffset>(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4)));
        return (runList, alertList);
    }
}

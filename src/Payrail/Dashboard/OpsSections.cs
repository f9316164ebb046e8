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
/// Where reconciliation runs and alerts will show: the reconciliation feature replaces this registration in
/// <see cref="DashboardHost"/> with its own section (Order 300).
/// </summary>
public sealed class ReconciliationNotBuiltOpsSection : IOpsSection
{
    public int Order => 300;

    public Task<string> RenderAsync(CancellationToken cancellationToken) => Task.FromResult(
        "<section id=\"reconciliation\"><h2>Reconciliation</h2><p class=\"muted\">No reconciliation runs yet: the nightly job is not built.</p></section>");
}

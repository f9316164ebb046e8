using System.Text;
using Confluent.Kafka;
using Npgsql;
using Payrail.Consumers;
using Payrail.Hosting;

namespace Payrail.Dashboard;

/// <summary>
/// GET /ops (ops token only): each consumer group's lag and the dead-letter topic's size, read from the broker as
/// `payrail status` does, and the payments stuck in flight that the sweeper is working on. Reconciliation runs and
/// alerts join this page when reconciliation exists.
/// </summary>
public static class OpsPage
{
    private const int MaxStuckListed = 100;
    private static readonly TimeSpan BrokerTimeout = TimeSpan.FromSeconds(2);

    public sealed record StuckPayment(Guid Id, string MerchantId, string Status, DateTimeOffset UpdatedAt, int Checks, DateTimeOffset? NextCheckAt);

    public static IEndpointRouteBuilder MapOpsPage(this IEndpointRouteBuilder app)
    {
        app.MapGet("/ops", RenderAsync);
        return app;
    }

    private static async Task<IResult> RenderAsync(HttpContext http, NpgsqlDataSource database, DashboardWebOptions options,
        DashboardAntiforgery antiforgery, KafkaOptions kafka, IConfiguration configuration)
    {
        if (DashboardSession.CallerOf(http) is not { } caller) return Results.Redirect("/signin");
        var token = antiforgery.Issue(http);
        if (!caller.IsOps)
            return Html.Page("Ops", caller, "<h1>Ops</h1><p class=\"problem\" role=\"alert\">This page needs an ops sign-in.</p>", token, 403);
        var topic = configuration["Consumers:Topic"] is { Length: > 0 } t ? t : "payments.v1";
        var deadLetterTopic = configuration["Consumers:DeadLetterTopic"] is { Length: > 0 } d ? d : "payments.v1.dlq";
        var threshold = TimeSpan.TryParse(configuration["Sweeper:Threshold"], System.Globalization.CultureInfo.InvariantCulture, out var th)
            ? th : TimeSpan.FromSeconds(60);
        // librdkafka's calls block: off the request thread, each bounded by BrokerTimeout.
        var lagsTask = Task.Run(() => ConsumerGroupLag.Read(kafka.BootstrapServers, topic, ConsumerGroupLag.Groups, BrokerTimeout));
        var deadLettersTask = Task.Run(() => DeadLetterCount(kafka.BootstrapServers, deadLetterTopic));
        var (stuck, stuckTotal) = await StuckAsync(database, threshold, options.DatabaseTimeoutSeconds, http.RequestAborted);

        var body = new StringBuilder(8 * 1024);
        body.Append("<h1>Operations</h1><h2>Consumers on ").Append(Html.E(topic)).Append("</h2><div class=\"scroll\"><table id=\"lag\"><thead><tr>")
            .Append("<th>Group</th><th class=\"num\">Lag</th></tr></thead><tbody>");
        foreach (var lag in await lagsTask)
            body.Append("<tr><td>").Append(Html.E(lag.Group)).Append("</td><td class=\"num\">")
                .Append(lag.Lag is { } n ? Html.Int(n) : "? " + Html.E(lag.Problem)).Append("</td></tr>");
        var deadLetters = await deadLettersTask;
        body.Append("</tbody></table></div><p id=\"dlq\">Dead letters on ").Append(Html.E(deadLetterTopic)).Append(": <strong>")
            .Append(deadLetters is { } count ? Html.Int(count) : "?").Append("</strong></p>");

        body.Append("<h2>Stuck payments</h2><p>In flight for longer than the sweeper's threshold (").Append(Html.E(threshold.ToString()))
            .Append("): <strong id=\"stuck-count\">").Append(Html.Int(stuckTotal)).Append("</strong></p>");
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
        body.Append("<h2>Reconciliation</h2><p class=\"muted\">No reconciliation runs yet: the nightly job is not built.</p>");
        return Html.Page("Ops", caller, body.ToString(), token);
    }

    private static async Task<(List<StuckPayment>, long)> StuckAsync(NpgsqlDataSource database, TimeSpan threshold, int timeoutSeconds,
        CancellationToken cancellationToken)
    {
        // payments_in_flight (migration 0002) holds exactly the initiated and processing rows.
        await using var batch = database.CreateBatch();
        batch.Timeout = timeoutSeconds;
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

using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Payrail.Outbox;
using Payrail.Reconciliation;
using Payrail.Testing;
using Payrail.Tests.Consumers;
using Payrail.Tests.Worker;
using Payrail.Worker;
using Xunit;

namespace Payrail.Tests.Reconciliation;

/// <summary>The alerts' fixture: its own database and pspsim, so the outbox holds this class's alerts only.</summary>
public sealed class ReconciliationAlertFixture : ReconciliationFixture;

/// <summary>
/// Issue 13's alerts: every break is a <c>reconciliation.alert</c> event, a break no Payrail payment stands for included
/// (event schema 2, keyed by the PSP object), and the notifications consumer turns each into one ops message, stored and
/// sent once, through the real relay and consumers.
/// </summary>
public sealed class ReconciliationAlertTests(ReconciliationAlertFixture api, DevKafkaFixture kafka)
    : IClassFixture<ReconciliationAlertFixture>, IClassFixture<DevKafkaFixture>
{
    [Fact]
    public async Task A_PSP_charge_no_payment_stands_for_raises_one_schema_2_alert_keyed_by_its_PaymentIntent_once_across_runs()
    {
        var from = ReconciliationFixture.WindowStart();
        var tag = "o" + Guid.NewGuid().ToString("N")[..10];
        await api.BulkChargesAsync(tag, 1, from, 1_234);
        var window = ReconciliationFixture.UntilNow(from);
        var intent = $"pi_{tag}_0000000";

        var report = await api.ReconcileAsync(window);
        var again = await api.ReconcileAsync(window);

        Assert.Equal((1L, 1L), (report.Count(Buckets.MissingInPayrail), again.Count(Buckets.MissingInPayrail)));
        var subject = OutboxEvent.SubjectId("stripe", intent);
        var payload = await api.TextAsync(
            "SELECT string_agg(payload::text, '') FROM outbox WHERE event_type = 'reconciliation.alert' AND aggregate_id = @id", subject);
        var alert = OutboxEvent.FromJson(payload!)!;
        Assert.Equal((OutboxEvent.PaymentlessSchemaVersion, subject, false), (alert.SchemaVersion, alert.PaymentId, alert.HasPayment));
        Assert.Equal((intent + "|charge", Buckets.MissingInPayrail, $"txn_{tag}_0000000", report.RunId),
            (alert.Reconciliation!.MatchKey, alert.Reconciliation.Bucket, alert.Reconciliation.PspLine, alert.Reconciliation.RunId));
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(payload!).RootElement.GetProperty("payment").ValueKind);
    }

    [Fact]
    public async Task Every_alert_with_or_without_a_payment_reaches_ops_as_one_message_stored_and_sent_through_the_relay_and_consumers()
    {
        var topic = "payments.alerts-" + Guid.NewGuid().ToString("N")[..8];
        var state = Path.Combine(Path.GetTempPath(), "payrail-alerts-" + Guid.NewGuid().ToString("N"));
        var from = ReconciliationFixture.WindowStart();
        // A bug writes CAPTURED for an authorization the PSP never captured (missing_at_psp, about a payment) ...
        var phantom = await api.PaymentAsync(amount: 7_000, capture: "manual");
        await api.ScalarAsync("""
            WITH changed AS (UPDATE payments SET status = 'captured', amount_captured_minor = amount_minor, version = version + 1
                             WHERE id = @id RETURNING id)
            INSERT INTO payment_transitions (payment_id, from_status, to_status, cause) SELECT id, 'authorized', 'captured', 'bug' FROM changed
            RETURNING 1
            """, ("id", phantom.PaymentId));
        // ... and the PSP reports a charge Payrail never made (missing_in_payrail, about no payment).
        var tag = "n" + Guid.NewGuid().ToString("N")[..10];
        await api.BulkChargesAsync(tag, 1, from, 4_321);
        var report = await api.ReconcileAsync(ReconciliationFixture.UntilNow(from));
        Assert.Equal((1L, 1L), (report.Count(Buckets.MissingAtPsp), report.Count(Buckets.MissingInPayrail)));
        var subject = OutboxEvent.SubjectId("stripe", $"pi_{tag}_0000000");

        await using var relay = StartRelay(topic);
        await relay.StartAsync();
        await using var consumers = await ConsumerWorker.StartAsync(api.Postgres.ConnectionString, kafka.BootstrapServers, topic, state);
        try
        {
            await Eventually.TrueAsync(async () => await api.ScalarAsync("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0,
                TimeSpan.FromSeconds(30), "the relay publishes every event");
            await Effects.WaitCaughtUpAsync(kafka.BootstrapServers, topic, "the consumers handle the alerts");
            await Eventually.TrueAsync(async () => await api.ScalarAsync("SELECT count(*) FROM notifications WHERE sent_at IS NULL") == 0,
                TimeSpan.FromSeconds(30), "the notifications are sent");

            Assert.Equal(2, await api.ScalarAsync("SELECT count(*) FROM notifications WHERE audience = 'ops'"));
            Assert.StartsWith("Reconciliation break: missing_at_psp", await api.TextAsync(
                "SELECT string_agg(subject, '') FROM notifications WHERE template = 'reconciliation_alert_ops' AND payment_id = @id",
                phantom.PaymentId));
            var paymentless = await api.TextAsync("""
                SELECT string_agg(n.body, '') FROM notifications n JOIN outbox o ON o.id = n.event_id
                WHERE n.audience = 'ops' AND n.payment_id IS NULL AND o.aggregate_id = @id
                """, subject);
            Assert.Contains($"pi_{tag}_0000000|charge", paymentless);
            Assert.Contains("Payment: none at Payrail", paymentless);
            var mail = Directory.GetFiles(Path.Combine(state, "mail"), "*.eml").Select(File.ReadAllText)
                .Where(m => m.Contains("X-Payrail-Template: reconciliation_alert_ops", StringComparison.Ordinal)).ToList();
            Assert.Equal(2, mail.Count);
            Assert.Single(mail, m => m.Contains("X-Payrail-Payment: none", StringComparison.Ordinal));
            // The payment's notifications: ops reads the alert; its merchant does not (it is the on-call engineer's).
            Assert.Equal(["reconciliation_alert_ops"], await NotificationTemplatesAsync(phantom.PaymentId, api.Token(Payrail.Auth.Roles.Ops, "ops_1")));
            Assert.Empty(await NotificationTemplatesAsync(phantom.PaymentId,
                api.Token(Payrail.Auth.Roles.Merchant, "u_recon", Payments.PaymentsApiFixture.MerchantId)));

            // Re-running the window raises nothing new, so the on-call engineer hears of each break once.
            await api.ReconcileAsync(ReconciliationFixture.UntilNow(from));
            Assert.Equal(2, await api.ScalarAsync("SELECT count(*) FROM outbox WHERE event_type = 'reconciliation.alert'"));
            Assert.Equal(2, await api.ScalarAsync("SELECT count(*) FROM notifications WHERE audience = 'ops'"));
        }
        finally
        {
            await relay.StopAsync();
            try { Directory.Delete(state, recursive: true); } catch (IOException) { }
        }
    }

    private async Task<string[]> NotificationTemplatesAsync(Guid paymentId, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/payments/{paymentId}/notifications");
        request.Headers.Authorization = new("Bearer", token);
        using var response = await api.Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var list = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("data");
        return [.. list.EnumerateArray().Select(n => n.GetProperty("template").GetString()!)];
    }

    private WebApplication StartRelay(string topic) => WorkerHost.Build(new ConfigurationBuilder()
        .AddInMemoryCollection(WorkerLoopsOff.AllBut(WorkerLoopsOff.Relay)).AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = api.Postgres.ConnectionString,
            ["Kafka:BootstrapServers"] = kafka.BootstrapServers,
            ["Worker:ManagementUrls"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["Relay:Topic"] = topic,
            ["Relay:DeadLetterTopic"] = topic + ".relay-dlq",
            ["Relay:TopicPartitions"] = "3",
            ["Logging:LogLevel:Default"] = "Error",
        }).Build());
}

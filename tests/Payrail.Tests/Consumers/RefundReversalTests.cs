using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Payrail.Outbox;
using Payrail.Testing;
using Payrail.Tests.Refunds;
using Payrail.Tests.Worker;
using Payrail.Worker;
using Xunit;

namespace Payrail.Tests.Consumers;

/// <summary>
/// A refund that came back after it succeeded (Stripe's refund_failure, pspsim's pm_card_refundFail) emits one
/// <c>payment.refund_reversed</c> carrying that refund; through the real relay and the six consumers, the consumers that
/// counted its <c>payment.refunded</c> undo it once: loyalty gives the points back, accounting books a reversal line,
/// analytics nets it out of the day's refunded amount, notifications tell both parties.
/// </summary>
public sealed class RefundReversalTests(RefundsFixture api, DevKafkaFixture kafka)
    : IClassFixture<RefundsFixture>, IClassFixture<DevKafkaFixture>, IAsyncLifetime
{
    private readonly string _topic = "payments.reversal-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _state = Path.Combine(Path.GetTempPath(), "payrail-reversal-" + Guid.NewGuid().ToString("N"));
    private WebApplication? _relay;
    private ConsumerWorker? _consumers;

    public async Task InitializeAsync()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(WorkerLoopsOff.AllBut(WorkerLoopsOff.Relay)).AddInMemoryCollection(
            new Dictionary<string, string?>
            {
                ["Postgres:ConnectionString"] = api.Postgres.ConnectionString,
                ["Kafka:BootstrapServers"] = kafka.BootstrapServers,
                ["Worker:ManagementUrls"] = $"http://127.0.0.1:{FreePort.Next()}",
                ["Relay:Topic"] = _topic,
                ["Relay:DeadLetterTopic"] = _topic + ".relay-dlq",
                ["Relay:TopicPartitions"] = "3",
                ["Logging:LogLevel:Default"] = "Error",
            }).Build();
        _relay = WorkerHost.Build(configuration);
        await _relay.StartAsync();
        _consumers = await ConsumerWorker.StartAsync(api.Postgres.ConnectionString, kafka.BootstrapServers, _topic, _state);
    }

    [Fact]
    public async Task A_refund_reversed_after_it_succeeded_is_one_event_whose_consumers_undo_that_refund_once()
    {
        var (payment, intent) = await api.CapturedPaymentAsync(1_000, "pm_card_refundFail");
        using var webhooks = api.Webhooks();
        var refund = await api.RefundAsync(payment, new { amount = 400 });
        Assert.Equal("succeeded", refund.Json.GetProperty("status").GetString());
        var refundId = Guid.Parse(refund.Json.GetProperty("id").GetString()!);
        await api.PspSim.SettleRefundAsync(refund.Json.GetProperty("psp_reference").GetString()!, "failed");
        var failed = (await webhooks.EventsForAsync(intent)).Single(e => SignedWebhooks.TypeOf(e) == "refund.failed");
        Assert.Equal("applied", (await webhooks.DeliverAsync(failed)).Outcome);
        Assert.Equal("duplicate", (await webhooks.DeliverAsync(failed)).Outcome);

        var reversal = Assert.Single(await OutboxEventsAsync(payment), e => e.Type == EventTypes.PaymentRefundReversed);
        Assert.Equal((refundId, 400L), (reversal.Refund!.Id, reversal.Refund.AmountMinor));
        Assert.Equal((1_000L, 0L), (reversal.Payment.AmountCapturedMinor, reversal.Payment.AmountRefundedMinor));
        await Eventually.TrueAsync(async () => await api.ScalarAsync("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0,
            TimeSpan.FromSeconds(30), "the relay publishes every event");
        await Effects.WaitCaughtUpAsync(kafka.BootstrapServers, _topic, "the consumers handle the payment's events");

        // Loyalty: earned 100 (1,000 cents at 10/USD), 40 taken back by the refund, 40 given back by its reversal.
        Assert.Equal("earn 100,reverse -40,reinstate 40", await TextAsync(
            "SELECT string_agg(kind || ' ' || points, ',' ORDER BY id) FROM loyalty_entries WHERE payment_id = @id AND account LIKE 'buyer:%'", payment));
        Assert.Equal("capture 1000,refund 400,refund_reversal 400", await TextAsync(
            "SELECT string_agg(kind || ' ' || amount_minor, ',' ORDER BY id) FROM settlement_lines WHERE payment_id = @id", payment));
        var merchant = Payments.PaymentsApiFixture.MerchantId;
        Assert.Equal(await MerchantAnalyticsAsync(merchant, "refunded"), await MerchantAnalyticsAsync(merchant, "refund_reversed"));
        Assert.Equal("payment_completed_buyer,payment_completed_merchant,payment_refund_reversed_buyer,payment_refund_reversed_merchant,"
            + "payment_refunded_buyer,payment_refunded_merchant",
            await TextAsync("SELECT string_agg(template, ',' ORDER BY template) FROM notifications WHERE payment_id = @id", payment));
        await api.AssertRefundBooksAgreeAsync(payment, intent);
    }

    private async Task<List<OutboxEvent>> OutboxEventsAsync(Guid paymentId)
    {
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT payload::text FROM outbox WHERE aggregate_id = @id ORDER BY seq", connection);
        command.Parameters.AddWithValue("id", paymentId);
        var events = new List<OutboxEvent>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) events.Add(OutboxEvent.FromJson(reader.GetString(0))!);
        return events;
    }

    private Task<string?> TextAsync(string sql, Guid paymentId) => api.TextAsync(sql, paymentId);

    private Task<string?> MerchantAnalyticsAsync(string merchant, string status) => api.TextAsync(
        "SELECT sum(payments) || ' ' || sum(amount_minor) FROM analytics_daily WHERE merchant_id = @m AND status = @s", ("m", merchant), ("s", status));

    public async Task DisposeAsync()
    {
        if (_consumers is not null) await _consumers.DisposeAsync();
        if (_relay is not null)
        {
            await _relay.StopAsync();
            await _relay.DisposeAsync();
        }
        try { Directory.Delete(_state, recursive: true); } catch (IOException) { }
    }
}

using System.Text;
using Confluent.Kafka;
using Payrail.Consumers;
using Payrail.Consumers.Analytics;
using Payrail.Outbox;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Consumers;

/// <summary>Messages a consumer cannot handle go to the dead-letter topic and never stop the partition behind them.</summary>
public sealed class DeadLetterTests(ConsumersFixture fixture) : IClassFixture<ConsumersFixture>
{
    private string Db => fixture.Postgres.ConnectionString;
    private string Bootstrap => fixture.Kafka.BootstrapServers;

    [Fact]
    public async Task A_poison_event_goes_to_the_dead_letter_topic_after_MaxAttempts_and_its_partition_moves_on()
    {
        var topic = fixture.NewTopic();
        var (merchant, buyer, payment) = ("m_poison", "b_poison", Guid.CreateVersion7());
        var events = TestEvents.Completed(payment, merchant, buyer);
        var poison = events[1]; // payment.authorized: analytics fails on it every time
        var crashes = new CountingCrashPoints((consumer, stage, e) =>
        {
            if (consumer == AnalyticsHandler.ConsumerName && stage == ConsumerStage.Handling && e.Id == poison.Id)
                throw new InvalidOperationException("analytics cannot handle this event");
        });
        using var wire = new EventWire(Bootstrap);
        await wire.ProduceAsync(topic, events);

        await using (await fixture.StartWorkerAsync(topic, crashes))
            await Effects.WaitCaughtUpAsync(Bootstrap, topic, "every group, analytics included, gets past the poison event");

        Assert.Equal(ConsumerWorker.MaxAttempts, crashes.AttemptsOf(AnalyticsHandler.ConsumerName, poison.Id));
        // The events behind it on the same partition (same payment key) were handled: captured is counted, authorized is not.
        Assert.Equal(1, await Effects.CountAsync(Db,
            $"SELECT count(*) FROM analytics_daily WHERE merchant_id = '{merchant}' AND status = 'captured' AND @id IS NOT NULL", payment));
        Assert.Equal(0, await Effects.CountAsync(Db,
            $"SELECT count(*) FROM analytics_daily WHERE merchant_id = '{merchant}' AND status = 'authorized' AND @id IS NOT NULL", payment));
        Assert.Equal(1, await Effects.CountAsync(Db, "SELECT count(*) FROM consumer_inbox WHERE consumer = 'fraud' AND payment_id = @id", payment));

        var dead = Assert.Single(ReadDeadLetters(topic + ".dlq", expected: 1));
        Assert.Equal(poison.Id.ToString(), Header(dead, CloudEventMessage.IdHeader));
        Assert.Equal(AnalyticsHandler.ConsumerName, Header(dead, DeadLetters.ConsumerHeader));
        Assert.Equal(ConsumerWorker.MaxAttempts.ToString(), Header(dead, DeadLetters.AttemptsHeader));
        Assert.Contains("analytics cannot handle this event", Header(dead, DeadLetters.ErrorHeader));
        Assert.Equal(topic, Header(dead, DeadLetters.TopicHeader));
        Assert.Equal("1", Header(dead, DeadLetters.OffsetHeader)); // the payment's second message on its partition
        Assert.Equal(poison.ToJson(), Encoding.UTF8.GetString(dead.Message.Value));
    }

    [Fact]
    public async Task Bad_input_is_dead_lettered_or_skipped_and_never_stops_a_consumer()
    {
        var topic = fixture.NewTopic();
        var (merchant, buyer, payment) = ("m_bad_input", "b_bad_input", Guid.CreateVersion7());
        var good = TestEvents.Event(EventTypes.PaymentInitiated, payment, 1, "initiated", merchant, buyer);
        var unknown = TestEvents.Event("payment.teleported", payment, 1, "initiated", merchant, buyer);
        using var wire = new EventWire(Bootstrap);
        // All on one key, so one partition: each must be passed before the good event is reached.
        await wire.ProduceRawAsync(topic, payment, "not even json"u8.ToArray(), headers: null);
        await wire.ProduceRawAsync(topic, payment, Encoding.UTF8.GetBytes(unknown.ToJson()), EventWire.CloudEventHeaders(unknown.Id, unknown.Type));
        await wire.ProduceRawAsync(topic, payment, "{\"schema_version\":1,"u8.ToArray(), EventWire.CloudEventHeaders(Guid.CreateVersion7(), EventTypes.PaymentInitiated));
        await wire.ProduceRawAsync(topic, payment, Encoding.UTF8.GetBytes(good.ToJson()), EventWire.CloudEventHeaders(Guid.CreateVersion7(), good.Type));
        await wire.ProduceAsync(topic, good);

        await using var worker = await fixture.StartWorkerAsync(topic);
        await Effects.WaitCaughtUpAsync(Bootstrap, topic, "every group passes the bad messages and reaches the good event");

        Assert.Equal(1, await Effects.CountAsync(Db, "SELECT count(*) FROM dashboard_payments WHERE payment_id = @id", payment));
        Assert.Equal(1, await Effects.CountAsync(Db, "SELECT count(*) FROM fraud_reviews WHERE payment_id = @id", payment));
        // Per group: no headers (offset 0), an unparsable body (2) and a body whose id contradicts ce_id (3); never the unknown type (1).
        var dead = ReadDeadLetters(topic + ".dlq", expected: 3 * ConsumerGroupLag.Groups.Count);
        foreach (var group in ConsumerGroupLag.Groups)
            Assert.Equal(["0", "2", "3"], dead.Where(d => Header(d, DeadLetters.ConsumerHeader) == group)
                .Select(d => Header(d, DeadLetters.OffsetHeader)).Order().ToArray());
        var metrics = await worker.Management.GetStringAsync("/metrics");
        Assert.Contains("outcome=\"unknown_type\"", metrics);
        Assert.Contains("payrail_consumer_dead_lettered", metrics);
        Assert.Contains("payrail_consumer_lag", metrics);
        Assert.Contains("payrail_consumer_handler_duration", metrics);
    }

    private List<ConsumeResult<byte[], byte[]>> ReadDeadLetters(string topic, int expected) => Effects.ReadDeadLetters(Bootstrap, topic, expected);

    private static string Header(ConsumeResult<byte[], byte[]> result, string name) => Effects.Header(result, name);
}

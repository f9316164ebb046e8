using System.Collections.Concurrent;
using Payrail.Consumers;
using Payrail.Consumers.Analytics;
using Payrail.Outbox;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Consumers;

/// <summary>
/// The loop handles a batch of messages in one transaction per group. Each test produces its events before the worker
/// starts, so each group's first fetch brings them together and they are handled as one batch.
/// </summary>
public sealed class BatchTests(ConsumersFixture fixture) : IClassFixture<ConsumersFixture>
{
    private const int Payments = 20;

    private string Db => fixture.Postgres.ConnectionString;
    private string Bootstrap => fixture.Kafka.BootstrapServers;

    [Fact]
    public async Task An_event_twice_in_one_batch_takes_effect_once_in_every_group()
    {
        var topic = fixture.NewTopic();
        var (merchant, buyer, payment) = ("m_batch_dup", "b_batch_dup", Guid.CreateVersion7());
        var events = TestEvents.Completed(payment, merchant, buyer);
        using var wire = new EventWire(Bootstrap);
        // A relay killed between produce and mark publishes a change's events again right behind the first copies.
        await wire.ProduceAsync(topic, [.. events, .. events, TestEvents.Refunded(payment, merchant, buyer)]);

        var crashes = new CountingCrashPoints();
        await using (await fixture.StartWorkerAsync(topic, crashes))
            await Effects.WaitCaughtUpAsync(Bootstrap, topic, "every group handles the batch with the duplicates");

        Assert.Equal(2, crashes.AttemptsOf(AnalyticsHandler.ConsumerName, events[2].Id)); // both copies were delivered
        Assert.Equal(1, await Effects.CountAsync(Db,
            $"SELECT sum(payments) FROM analytics_daily WHERE merchant_id = '{merchant}' AND status = 'captured' AND @id IS NOT NULL", payment));
        Assert.Equal(3 + 1, await Effects.CountAsync(Db,
            $"SELECT sum(payments) FROM analytics_daily WHERE merchant_id = '{merchant}' AND @id IS NOT NULL", payment));
        Assert.Equal(4, await Effects.CountAsync(Db, "SELECT count(*) FROM notifications WHERE payment_id = @id", payment));
        Assert.Equal(1, await Effects.CountAsync(Db, "SELECT count(*) FROM fraud_reviews WHERE payment_id = @id", payment));
        Assert.Equal(2, await Effects.CountAsync(Db, "SELECT count(*) FROM settlement_lines WHERE payment_id = @id", payment));
        Assert.Equal(4, await Effects.CountAsync(Db, "SELECT count(*) FROM loyalty_entries WHERE payment_id = @id", payment));
        Assert.Equal(0, await Effects.CountAsync(Db,
            $"SELECT sum(points) FROM loyalty_entries WHERE payment_id = @id AND account = 'buyer:{buyer}'", payment));
        Assert.Equal(1, await Effects.CountAsync(Db, "SELECT count(*) FROM dashboard_payments WHERE payment_id = @id AND status = 'refunded'", payment));
        Assert.Equal(5, await Effects.CountAsync(Db, "SELECT count(*) FROM consumer_inbox WHERE consumer = 'merchant-dashboard' AND payment_id = @id", payment));
    }

    [Fact]
    public async Task A_poison_event_in_a_batch_goes_alone_to_the_dead_letter_topic_and_the_rest_of_the_batch_takes_effect()
    {
        var topic = fixture.NewTopic();
        const string merchant = "m_batch_poison";
        var payments = Enumerable.Range(0, Payments).Select(_ => Guid.CreateVersion7()).ToArray();
        var events = payments.SelectMany((p, i) => TestEvents.Completed(p, merchant, $"b_batch_poison_{i}")).ToArray();
        var poison = events[4 * 7 + 2]; // the 8th payment's captured event: analytics fails on it every time
        var crashes = new CountingCrashPoints((consumer, stage, e) =>
        {
            if (consumer == AnalyticsHandler.ConsumerName && stage == ConsumerStage.Handling && e.Id == poison.Id)
                throw new InvalidOperationException("analytics cannot handle this event");
        });
        using var wire = new EventWire(Bootstrap);
        await wire.ProduceAsync(topic, events);

        await using (await fixture.StartWorkerAsync(topic, crashes))
            await Effects.WaitCaughtUpAsync(Bootstrap, topic, "analytics gets past the poison event and every group catches up");

        Assert.Equal(ConsumerWorker.MaxAttempts, crashes.AttemptsOf(AnalyticsHandler.ConsumerName, poison.Id));
        var dead = Assert.Single(Effects.ReadDeadLetters(Bootstrap, topic + ".dlq", expected: 1));
        Assert.Equal(poison.Id.ToString(), Effects.Header(dead, CloudEventMessage.IdHeader));
        Assert.Equal(ConsumerWorker.MaxAttempts.ToString(), Effects.Header(dead, DeadLetters.AttemptsHeader));
        // Every other event of the batch took effect once: 20 initiated, 20 authorized, 19 captured.
        Assert.Equal(Payments, await SumAsync(merchant, "initiated"));
        Assert.Equal(Payments, await SumAsync(merchant, "authorized"));
        Assert.Equal(Payments - 1, await SumAsync(merchant, "captured"));
        Assert.Equal(3 * Payments - 1, await Effects.CountAsync(Db, // analytics does not count payment.completed
            "SELECT count(*) FROM consumer_inbox WHERE consumer = 'analytics' AND payment_id = ANY(@ids)", payments));
        Assert.Equal(Payments, await Effects.CountAsync(Db, "SELECT count(*) FROM settlement_lines WHERE payment_id = ANY(@ids)", payments));
    }

    [Fact]
    public async Task A_consumer_killed_between_a_batch_commit_and_its_offset_store_gets_the_batch_again_and_applies_it_once()
    {
        var topic = fixture.NewTopic();
        const string merchant = "m_batch_kill";
        var payments = Enumerable.Range(0, Payments).Select(_ => Guid.CreateVersion7()).ToArray();
        var events = payments.SelectMany((p, i) => TestEvents.Completed(p, merchant, $"b_batch_kill_{i}")).ToArray();
        var killed = new ConcurrentDictionary<string, int>();
        var crashes = new CountingCrashPoints((consumer, stage, e) =>
        {
            if (stage == ConsumerStage.AfterCommit && killed.TryAdd(consumer, 0)) throw new SimulatedConsumerCrash();
        });
        using var wire = new EventWire(Bootstrap);
        await wire.ProduceAsync(topic, events);

        await using (await fixture.StartWorkerAsync(topic, crashes))
            await Eventually.TrueAsync(() => killed.Count == ConsumerGroupLag.Groups.Count, TimeSpan.FromSeconds(60),
                "each consumer is killed right after committing its first batch");
        var committedBeforeRestart = await Effects.CountAsync(Db,
            "SELECT count(*) FROM consumer_inbox WHERE consumer = 'analytics' AND payment_id = ANY(@ids)", payments);
        await using (await fixture.StartWorkerAsync(topic, crashes))
            await Effects.WaitCaughtUpAndSentAsync(Bootstrap, topic, Db, "a second worker takes the groups over and catches up");

        Assert.True(committedBeforeRestart > 1, $"the killed batch held several events ({committedBeforeRestart})");
        Assert.True(crashes.Attempts.Where(a => a.Key.Consumer == AnalyticsHandler.ConsumerName).Count(a => a.Value == 2) >= committedBeforeRestart,
            "every event of the killed batch was delivered again");
        Assert.Equal(Payments, await SumAsync(merchant, "captured"));
        Assert.Equal(3 * Payments, await Effects.CountAsync(Db,
            $"SELECT sum(payments) FROM analytics_daily WHERE merchant_id = '{merchant}' AND @ids IS NOT NULL", payments));
        Assert.Equal(2 * Payments, await Effects.CountAsync(Db, "SELECT count(*) FROM notifications WHERE payment_id = ANY(@ids) AND sent_at IS NOT NULL", payments));
        Assert.Equal(Payments, await Effects.CountAsync(Db, "SELECT count(*) FROM fraud_reviews WHERE payment_id = ANY(@ids)", payments));
        Assert.Equal(Payments, await Effects.CountAsync(Db, "SELECT count(*) FROM settlement_lines WHERE payment_id = ANY(@ids)", payments));
        Assert.Equal(2 * Payments, await Effects.CountAsync(Db, "SELECT count(*) FROM loyalty_entries WHERE payment_id = ANY(@ids)", payments));
        Assert.Equal(Payments, await Effects.CountAsync(Db, "SELECT count(*) FROM dashboard_payments WHERE payment_id = ANY(@ids)", payments));
        var settlement = await File.ReadAllLinesAsync(Path.Combine(fixture.StateDirectory, "settlement", "2026-11-30.csv"));
        foreach (var payment in payments) Assert.Single(settlement, line => line.StartsWith(payment.ToString(), StringComparison.Ordinal));
    }

    private Task<long> SumAsync(string merchant, string status) => Effects.CountAsync(Db,
        $"SELECT coalesce(sum(payments), 0) FROM analytics_daily WHERE merchant_id = '{merchant}' AND status = '{status}' AND @id IS NOT NULL",
        Guid.Empty);
}

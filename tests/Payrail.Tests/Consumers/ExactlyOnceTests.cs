using System.Collections.Concurrent;
using Confluent.Kafka;
using Payrail.Consumers;
using Payrail.Consumers.Accounting;
using Payrail.Consumers.Analytics;
using Payrail.Consumers.Dashboard;
using Payrail.Consumers.Fraud;
using Payrail.Consumers.Loyalty;
using Payrail.Consumers.Notifications;
using Payrail.Outbox;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Consumers;

/// <summary>
/// Kafka redelivers; the effects do not repeat. Each test runs the six consumers of a real worker on its own topic, kills
/// consumers at the crash points of the loop, starts a second worker, and reads the effects back from the tables and files.
/// </summary>
public sealed class ExactlyOnceTests(ConsumersFixture fixture) : IClassFixture<ConsumersFixture>
{
    private string Db => fixture.Postgres.ConnectionString;
    private string Bootstrap => fixture.Kafka.BootstrapServers;

    [Fact]
    public async Task A_consumer_killed_between_its_commit_and_its_offset_store_gets_the_event_again_and_applies_it_once()
    {
        var topic = fixture.NewTopic();
        var (merchant, buyer, payment) = ("m_kill_after", "b_kill_after", Guid.CreateVersion7());
        var events = TestEvents.Completed(payment, merchant, buyer);
        var killed = new ConcurrentDictionary<string, Guid>();
        var crashes = new CountingCrashPoints((consumer, stage, e) =>
        {
            if (stage == ConsumerStage.AfterCommit && killed.TryAdd(consumer, e.Id)) throw new SimulatedConsumerCrash();
        });
        using var wire = new EventWire(Bootstrap);
        await wire.ProduceAsync(topic, events);

        await using (await fixture.StartWorkerAsync(topic, crashes))
            await Eventually.TrueAsync(() => killed.Count == ConsumerGroupLag.Groups.Count, TimeSpan.FromSeconds(60),
                "each consumer is killed right after committing its first event of the payment");
        await using (await fixture.StartWorkerAsync(topic, crashes))
            await Effects.WaitCaughtUpAndSentAsync(Bootstrap, topic, Db, "a second worker takes the groups over and catches up");

        foreach (var (consumer, eventId) in killed)
            Assert.True(crashes.AttemptsOf(consumer, eventId) == 2, $"{consumer} got its killed event again (attempts {crashes.AttemptsOf(consumer, eventId)})");
        await AssertAppliedOnceAsync(payment, merchant, buyer);
    }

    [Fact]
    public async Task A_consumer_killed_inside_its_transaction_loses_no_effect()
    {
        var topic = fixture.NewTopic();
        var (merchant, buyer, payment) = ("m_kill_before", "b_kill_before", Guid.CreateVersion7());
        var killed = new ConcurrentDictionary<string, Guid>();
        var crashes = new CountingCrashPoints((consumer, stage, e) =>
        {
            if (stage == ConsumerStage.BeforeCommit && killed.TryAdd(consumer, e.Id)) throw new SimulatedConsumerCrash();
        });
        using var wire = new EventWire(Bootstrap);
        await wire.ProduceAsync(topic, TestEvents.Completed(payment, merchant, buyer));

        await using (await fixture.StartWorkerAsync(topic, crashes))
            await Eventually.TrueAsync(() => killed.Count == ConsumerGroupLag.Groups.Count, TimeSpan.FromSeconds(60),
                "each consumer is killed with its first event's effect written but not committed");
        await using (await fixture.StartWorkerAsync(topic, crashes))
            await Effects.WaitCaughtUpAndSentAsync(Bootstrap, topic, Db, "a second worker takes the groups over and catches up");

        await AssertAppliedOnceAsync(payment, merchant, buyer);
    }

    [Fact]
    public async Task Replaying_the_topic_from_offset_0_into_every_group_adds_no_effect()
    {
        var topic = fixture.NewTopic();
        const string merchant = "m_replay";
        var payments = Enumerable.Range(0, 12).Select(_ => Guid.CreateVersion7()).ToArray();
        var events = new List<OutboxEvent>();
        for (var i = 0; i < payments.Length; i++)
        {
            var buyer = $"b_replay_{i % 3}";
            events.AddRange(i % 4 == 3 ? TestEvents.Failed(payments[i], merchant, buyer)
                : TestEvents.Completed(payments[i], merchant, buyer, amount: 1000 + i));
            if (i % 4 == 1) events.Add(TestEvents.Refunded(payments[i], merchant, buyer, amount: 1000 + i));
        }
        using var wire = new EventWire(Bootstrap);
        await wire.ProduceAsync(topic, [.. events]);
        await using (await fixture.StartWorkerAsync(topic))
            await Effects.WaitCaughtUpAndSentAsync(Bootstrap, topic, Db, "the first pass handles every event");
        var before = await Effects.SnapshotAsync(Db, payments, merchant);
        var settlementBefore = await File.ReadAllTextAsync(SettlementPath());
        var mailBefore = Directory.GetFiles(MailDirectory()).Length;

        RewindEveryGroup(topic);
        Assert.False(Effects.CaughtUp(Bootstrap, topic), "every group is rewound to offset 0");
        var crashes = new CountingCrashPoints();
        await using (await fixture.StartWorkerAsync(topic, crashes))
            await Effects.WaitCaughtUpAndSentAsync(Bootstrap, topic, Db, "the replay reaches the end of the topic in every group");

        foreach (var handler in Handlers())
            Assert.Equal(events.Where(e => handler.Handles(e.Type)).Select(e => e.Id).Order(),
                crashes.Attempts.Keys.Where(k => k.Consumer == handler.Name).Select(k => k.EventId).Order());
        Assert.Equal(before, await Effects.SnapshotAsync(Db, payments, merchant));
        Assert.Equal(settlementBefore, await File.ReadAllTextAsync(SettlementPath()));
        Assert.Equal(mailBefore, Directory.GetFiles(MailDirectory()).Length);
    }

    /// <summary>The six handlers, for their names and the types they handle.</summary>
    private static IEventHandler[] Handlers() =>
    [
        new NotificationsHandler(() => { }, TimeProvider.System), new FraudHandler(new()), new AccountingHandler(null!, new(), TimeProvider.System),
        new AnalyticsHandler(), new LoyaltyHandler(new()), new DashboardHandler(new(), new DashboardFeed(new())),
    ];

    /// <summary>What an operator's offset reset does: commit offset 0 for every partition in every group (no member joined).</summary>
    private void RewindEveryGroup(string topic)
    {
        foreach (var group in ConsumerGroupLag.Groups)
        {
            using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
                { BootstrapServers = Bootstrap, GroupId = group, BrokerAddressFamily = BrokerAddressFamily.V4 }).Build();
            consumer.Commit(Effects.Partitions(Bootstrap, topic).Select(p => new TopicPartitionOffset(p, 0)));
        }
    }

    /// <summary>One of each effect for a payment that completed: no more, no less.</summary>
    private async Task AssertAppliedOnceAsync(Guid payment, string merchant, string buyer)
    {
        Assert.Equal(2, await Effects.CountAsync(Db, "SELECT count(*) FROM notifications WHERE payment_id = @id AND sent_at IS NOT NULL", payment));
        Assert.Equal(1, await Effects.CountAsync(Db, "SELECT count(*) FROM fraud_reviews WHERE payment_id = @id", payment));
        Assert.Equal(1, await Effects.CountAsync(Db, "SELECT count(*) FROM settlement_lines WHERE payment_id = @id", payment));
        Assert.Equal(2, await Effects.CountAsync(Db, "SELECT count(*) FROM loyalty_entries WHERE payment_id = @id", payment));
        Assert.Equal(199, await Effects.CountAsync(Db, $"SELECT sum(points) FROM loyalty_entries WHERE payment_id = @id AND account = 'buyer:{buyer}'", payment));
        Assert.Equal(1, await Effects.CountAsync(Db, "SELECT count(*) FROM dashboard_payments WHERE payment_id = @id AND status = 'captured'", payment));
        Assert.Equal(3, await Effects.CountAsync(Db,
            $"SELECT sum(payments) FROM analytics_daily WHERE merchant_id = '{merchant}' AND @id IS NOT NULL", payment));
        var settlement = await File.ReadAllLinesAsync(SettlementPath());
        Assert.Single(settlement, line => line.StartsWith(payment.ToString(), StringComparison.Ordinal));
        foreach (var audience in new[] { NotificationTemplates.Buyer, NotificationTemplates.Merchant })
        {
            var completed = await Effects.CountAsync(Db,
                $"SELECT count(*) FROM notifications WHERE payment_id = @id AND audience = '{audience}' AND template LIKE 'payment_completed%'", payment);
            Assert.Equal(1, completed);
        }
        Assert.Equal(2, Directory.GetFiles(MailDirectory()).Count(f => File.ReadAllText(f).Contains(payment.ToString())));
    }

    private string MailDirectory() => Path.Combine(fixture.StateDirectory, "mail");
    private string SettlementPath() => Path.Combine(fixture.StateDirectory, "settlement", "2026-11-30.csv");
}

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Payrail.Outbox;
using Payrail.Testing;
using Payrail.Tests.Worker;
using Payrail.Worker;
using Xunit;

namespace Payrail.Tests.Outbox;

/// <summary>
/// `Relay:Instances`: one `payrail worker` running several relays side by side, as `up` runs it. They share the
/// ownership partitions exactly as two workers' relays do, so every relay rule (order, nothing lost) holds unchanged.
/// </summary>
public sealed class RelayInstancesTests(PostgresFixture postgres, DevKafkaFixture kafka)
    : IClassFixture<PostgresFixture>, IClassFixture<DevKafkaFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_worker_with_two_relay_instances_splits_the_partitions_between_them_and_publishes_each_payments_events_in_order()
    {
        await using var bed = await RelayTestBed.CreateAsync(postgres, kafka);
        await using var worker = WorkerHost.Build(new ConfigurationBuilder()
            .AddInMemoryCollection(WorkerLoopsOff.AllBut(WorkerLoopsOff.Relay))
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Postgres:ConnectionString"] = bed.ConnectionString,
                ["Kafka:BootstrapServers"] = kafka.BootstrapServers,
                ["Worker:ManagementUrls"] = $"http://127.0.0.1:{FreePort.Next()}",
                ["Relay:Topic"] = bed.Options.Topic,
                ["Relay:DeadLetterTopic"] = bed.Options.DeadLetterTopic,
                ["Relay:TopicPartitions"] = "4",
                ["Relay:OwnershipCheckIntervalMs"] = "100",
                ["Relay:MaxIdlePollMs"] = "50",
                ["Relay:BatchSize"] = "100",
                ["Relay:Instances"] = "2",
                ["Logging:LogLevel:Default"] = "Error",
            }).Build());
        await worker.StartAsync();
        var relays = worker.Services.GetRequiredService<RelayInstances>().Relays;
        var metrics = worker.Services.GetRequiredService<RelayMetrics>();

        Assert.Equal(2, relays.Count);
        await Eventually.TrueAsync(() => relays.All(r => r.OwnedPartitions.Count == bed.Options.OwnershipPartitions / 2), Deadline,
            "each instance owns its half of the partitions");
        Assert.Empty(relays[0].OwnedPartitions.Intersect(relays[1].OwnedPartitions));
        Assert.Equal(bed.Options.OwnershipPartitions, metrics.OwnedPartitions);

        var sent = await bed.InsertEventsAsync(Enumerable.Range(0, 200).Select(_ => Guid.NewGuid()).ToList(), 5);
        await Eventually.TrueAsync(async () => await bed.UnpublishedAsync() == 0, Deadline, "every event is published");
        var wire = await bed.ReadTopicAsync(sent.Count, Deadline, distinctEvents: true);
        Assert.Equal(sent.Select(e => e.Id).ToHashSet(), wire.Select(m => m.EventId).ToHashSet());
        OutboxRelayTests.AssertEachPaymentInOrder(sent, wire);
        await worker.StopAsync();
    }
}

using CsCheck;
using Payrail.Outbox;
using Xunit;

namespace Payrail.Tests.Outbox;

/// <summary>The relay's pure decisions and its settings, without a database.</summary>
public sealed class RelayDecisionTests
{
    [Fact]
    public void Live_relays_taking_their_fair_share_cover_every_partition_and_none_keeps_more()
    {
        Gen.Select(Gen.Int[1, 1_024], Gen.Int[1, 64]).Sample((partitions, members) =>
        {
            var share = RelayOwnership.Change(0, members, partitions);
            Assert.True(share * members >= partitions, "every partition has a taker");
            Assert.True((share - 1) * members < partitions, "no relay keeps more than it needs");
            Assert.True(RelayOwnership.Change(partitions, members, partitions) <= 0, "a relay holding everything gives back when others live");
        });
    }

    [Theory]
    [InlineData(16, 1, 0, 16)]
    [InlineData(16, 2, 16, -8)]
    [InlineData(16, 2, 0, 8)]
    [InlineData(16, 3, 16, -10)]
    [InlineData(16, 0, 0, 16)]
    public void A_relay_gains_or_gives_back_to_reach_its_share(int partitions, int members, int owned, int change) =>
        Assert.Equal(change, RelayOwnership.Change(owned, members, partitions));

    [Fact]
    public void The_poll_stays_short_through_gaps_shorter_than_the_idle_threshold_then_doubles_up_to_the_longest_pause()
    {
        var options = new RelayOptions { MinPollMs = 5, MaxIdlePollMs = 250, BackoffAfterIdleMs = 200, Instances = 1 };
        var idleMs = options.MinPollMs;
        for (var idleFor = 0; idleFor < 200; idleFor += idleMs)
        {
            idleMs = OutboxRelay.NextIdleMs(idleMs, idleFor, options);
            Assert.Equal(options.MinPollMs, idleMs);
        }
        var pauses = new List<int>();
        for (var i = 0; i < 8; i++) pauses.Add(idleMs = OutboxRelay.NextIdleMs(idleMs, 200 + i * 100, options));
        Assert.Equal([10, 20, 40, 80, 160, 250, 250, 250], pauses);
        Assert.Equal(options.MinPollMs, OutboxRelay.NextIdleMs(250, 0, options)); // rows again: short at once
        // Two instances each poll half as often: together they read the outbox as often as one did.
        Assert.Equal(10, OutboxRelay.NextIdleMs(5, 0, new RelayOptions { MinPollMs = 5, Instances = 2 }));
    }

    [Fact]
    public void The_default_relay_settings_are_valid_and_each_broken_one_is_named()
    {
        Assert.Empty(new RelayOptions().Problems());
        var broken = new RelayOptions
        {
            BatchSize = 0, MaxIdlePollMs = 5_000, OwnershipPartitions = 0, DeliveryTimeoutMs = 0, Topic = "",
            PublishedRetention = TimeSpan.FromDays(-1), PruneBatchSize = 0, Instances = 0, BackoffAfterIdleMs = -1,
        }.Problems().ToList();
        Assert.Contains(new RelayOptions { Instances = RelayOptions.MaxInstances + 1 }.Problems(), p => p.StartsWith("Relay:Instances ", StringComparison.Ordinal));
        Assert.Contains(new RelayOptions { OwnershipPartitions = 2, Instances = 3 }.Problems(), p => p.StartsWith("Relay:Instances ", StringComparison.Ordinal));

        foreach (var setting in new[] { "Instances", "BackoffAfterIdleMs", "BatchSize", "MaxIdlePollMs", "OwnershipPartitions", "DeliveryTimeoutMs", "Topic", "PublishedRetention", "PruneBatchSize" })
            Assert.Contains(broken, p => p.StartsWith($"Relay:{setting} ", StringComparison.Ordinal));
    }

    [Fact]
    public void The_trace_id_of_an_event_is_its_id()
    {
        var id = Guid.Parse("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
        Assert.Equal("00-0193a1b2c3d47e5f8a9b0c1d2e3f4a5b-8a9b0c1d2e3f4a5b-01", PaymentsTopicMessage.TraceParent(id));
    }
}

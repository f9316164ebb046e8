using Confluent.Kafka;
using CsCheck;
using Payrail.Consumers;
using Payrail.Consumers.Dashboard;
using Payrail.Outbox;
using Xunit;

namespace Payrail.Tests.Consumers;

/// <summary>The pure decisions of a batch: which offsets may be stored, and the dashboard's one row per payment.</summary>
public sealed class BatchRulesTests
{
    private static readonly TopicPartition P0 = new("payments.v1", 0);
    private static readonly TopicPartition P1 = new("payments.v1", 1);

    [Fact]
    public void Offsets_are_stored_below_a_partitions_first_message_not_done_and_the_partition_is_rewound_to_it()
    {
        var batch = new[] { At(P0, 10), At(P1, 3), At(P0, 11), At(P0, 12), At(P1, 4) };
        var progress = new BatchProgress();
        progress.Block(batch[3]); // P0@12 abandoned
        progress.Block(batch[2]); // then P0@11: the earlier one wins

        var steps = progress.StoreAndRewind(batch).ToDictionary(s => s.Partition, s => s.Step);

        Assert.Equal(10, steps[P0].Store!.Offset.Value); // stores 11: 11 and 12 come again
        Assert.Equal(11, steps[P0].RewindTo!.Value.Value);
        Assert.Equal(4, steps[P1].Store!.Offset.Value);
        Assert.Null(steps[P1].RewindTo);
        Assert.True(progress.IsBlocked(batch[3]));
        Assert.False(progress.IsBlocked(batch[4]));
    }

    [Fact]
    public void A_partition_whose_first_message_is_not_done_stores_nothing()
    {
        var batch = new[] { At(P0, 7), At(P0, 8) };
        var progress = new BatchProgress();
        progress.Block(batch[0]);

        var step = Assert.Single(progress.StoreAndRewind(batch)).Step;

        Assert.Null(step.Store);
        Assert.Equal(7, step.RewindTo!.Value.Value);
    }

    [Fact]
    public void The_first_copy_of_each_event_is_kept_in_order()
    {
        var a = TestEvents.Event(EventTypes.PaymentInitiated, Guid.CreateVersion7(), 1, "initiated", "m", "b");
        var b = TestEvents.Event(EventTypes.PaymentAuthorized, a.PaymentId, 2, "authorized", "m", "b");

        Assert.Equal([a, b], BatchProgress.FirstOfEach([a, b, a, b, a]));
    }

    private static ConsumeResult<byte[]?, byte[]?> At(TopicPartition partition, long offset) =>
        new() { TopicPartitionOffset = new TopicPartitionOffset(partition, offset), Message = new Message<byte[]?, byte[]?>() };
}

using Confluent.Kafka;
using Payrail.Outbox;

namespace Payrail.Consumers;

/// <summary>A consumed message and what its headers and body say.</summary>
internal sealed record Delivery(ConsumeResult<byte[]?, byte[]?> Result, CloudEventMessage Message);

internal enum BatchOutcome
{
    Applied,

    /// <summary>Not applied and not to be tried one by one (the database away past MaxHoldMs, or shutdown): consumed again.</summary>
    Abandoned,

    /// <summary>The batch's transaction failed: its events are tried one at a time.</summary>
    Failed,
}

/// <summary>What to do with one partition after a batch: store up to a message (its offset + 1), rewind to an offset.</summary>
internal sealed record PartitionStep(ConsumeResult<byte[]?, byte[]?>? Store, Offset? RewindTo);

/// <summary>
/// Which messages of a batch are not done (abandoned: neither handled nor dead-lettered). Pure: offsets are stored per
/// partition only below its first message not done, and the partition is rewound to that one, so nothing after a gap is
/// ever stored past it (it would be lost) while every partition without a gap moves on.
/// </summary>
internal sealed class BatchProgress
{
    private readonly Dictionary<TopicPartition, Offset> _firstNotDone = [];

    public void Block(ConsumeResult<byte[]?, byte[]?> result)
    {
        if (!_firstNotDone.TryGetValue(result.TopicPartition, out var first) || result.Offset < first)
            _firstNotDone[result.TopicPartition] = result.Offset;
    }

    /// <summary>Whether the message is at or after its partition's first message not done (so it waits for the rewind).</summary>
    public bool IsBlocked(ConsumeResult<byte[]?, byte[]?> result) =>
        _firstNotDone.TryGetValue(result.TopicPartition, out var first) && result.Offset >= first;

    public IEnumerable<(TopicPartition Partition, PartitionStep Step)> StoreAndRewind(IEnumerable<ConsumeResult<byte[]?, byte[]?>> batch)
    {
        foreach (var partition in batch.GroupBy(r => r.TopicPartition))
        {
            var last = partition.Where(r => !IsBlocked(r)).MaxBy(r => r.Offset.Value);
            yield return (partition.Key, new PartitionStep(last, _firstNotDone.TryGetValue(partition.Key, out var first) ? first : null));
        }
    }

    /// <summary>Each event once, at its first place: the batch's later copies of an id are duplicates.</summary>
    public static List<OutboxEvent> FirstOfEach(IReadOnlyList<OutboxEvent> events)
    {
        var seen = new HashSet<Guid>();
        return events.Where(e => seen.Add(e.Id)).ToList();
    }
}

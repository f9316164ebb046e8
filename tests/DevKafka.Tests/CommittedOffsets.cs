using Confluent.Kafka;

namespace DevKafka.Tests;

internal static class CommittedOffsets
{
    /// <summary>True when the group's committed offset equals the high watermark on every partition.</summary>
    public static bool CaughtUp(string bootstrap, string group, string topic, int partitions)
    {
        // Not subscribed: OffsetFetch and ListOffsets only, this consumer never joins the group.
        using var probe = new ConsumerBuilder<Ignore, Ignore>(KafkaClients.Consumer(bootstrap, group)).Build();
        var tps = Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)).ToList();
        var committed = probe.Committed(tps, TimeSpan.FromSeconds(10));
        // No commit (Offset.Unset) on an empty partition counts as caught up.
        return committed.All(c => Math.Max(c.Offset.Value, 0) == probe.QueryWatermarkOffsets(c.TopicPartition, TimeSpan.FromSeconds(10)).High.Value);
    }
}

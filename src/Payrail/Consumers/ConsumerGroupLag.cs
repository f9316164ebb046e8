using Confluent.Kafka;
using Payrail.Consumers.Accounting;
using Payrail.Consumers.Analytics;
using Payrail.Consumers.Dashboard;
using Payrail.Consumers.Fraud;
using Payrail.Consumers.Loyalty;
using Payrail.Consumers.Notifications;

namespace Payrail.Consumers;

/// <summary>One group's lag as the broker sees it: high watermarks minus the group's committed offsets (null: unknown).</summary>
public sealed record GroupLag(string Group, long? Lag, string? Problem);

/// <summary>
/// Reads each consumer group's lag from the broker alone (`payrail status`, tests): it needs no running worker and joins
/// no group (OffsetFetch and ListOffsets only). A partition the group never committed counts from its low watermark.
/// </summary>
public static class ConsumerGroupLag
{
    /// <summary>The six groups of DESIGN.md, in its order.</summary>
    public static IReadOnlyList<string> Groups { get; } =
    [
        NotificationsHandler.ConsumerName, FraudHandler.ConsumerName, AccountingHandler.ConsumerName, AnalyticsHandler.ConsumerName,
        LoyaltyHandler.ConsumerName, DashboardHandler.ConsumerName,
    ];

    public static IReadOnlyList<GroupLag> Read(string bootstrapServers, string topic, IEnumerable<string> groups, TimeSpan timeout)
    {
        List<TopicPartition> partitions;
        try
        {
            partitions = Partitions(bootstrapServers, topic, timeout);
        }
        catch (KafkaException e)
        {
            return groups.Select(g => new GroupLag(g, null, e.Error.Reason)).ToList();
        }
        return groups.Select(group => ReadGroup(bootstrapServers, group, partitions, timeout)).ToList();
    }

    private static List<TopicPartition> Partitions(string bootstrapServers, string topic, TimeSpan timeout)
    {
        var config = new AdminClientConfig { BootstrapServers = bootstrapServers, BrokerAddressFamily = BrokerAddressFamily.V4 };
        config.Set("allow.auto.create.topics", "false"); // asking about a topic must not create it
        using var admin = new AdminClientBuilder(config)
            .SetLogHandler((_, _) => { }).Build(); // a stopped broker is reported as "?", not as librdkafka's log lines
        var metadata = admin.GetMetadata(topic, timeout).Topics.Single();
        if (metadata.Error.Code != ErrorCode.NoError) throw new KafkaException(metadata.Error);
        return metadata.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).ToList();
    }

    private static GroupLag ReadGroup(string bootstrapServers, string group, List<TopicPartition> partitions, TimeSpan timeout)
    {
        try
        {
            using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
            {
                BootstrapServers = bootstrapServers, GroupId = group, EnableAutoCommit = false, BrokerAddressFamily = BrokerAddressFamily.V4,
            }).SetLogHandler((_, _) => { }).Build();
            var committed = consumer.Committed(partitions, timeout).ToDictionary(c => c.Partition.Value, c => c.Offset);
            long lag = 0;
            foreach (var partition in partitions)
            {
                var watermarks = consumer.QueryWatermarkOffsets(partition, timeout);
                var from = committed.TryGetValue(partition.Partition.Value, out var offset) && offset != Offset.Unset ? offset : watermarks.Low;
                lag += Math.Max(0, watermarks.High.Value - from.Value);
            }
            return new GroupLag(group, lag, null);
        }
        catch (KafkaException e)
        {
            return new GroupLag(group, null, e.Error.Reason);
        }
    }
}

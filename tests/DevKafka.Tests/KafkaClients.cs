using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace DevKafka.Tests;

/// <summary>Confluent.Kafka clients configured the way Payrail uses them, with test-sized timeouts.</summary>
internal static class KafkaClients
{
    public static ProducerConfig Producer(string bootstrap) => new()
    {
        BootstrapServers = bootstrap,
        EnableIdempotence = true,
        Acks = Acks.All,
        LingerMs = 5,
        MessageTimeoutMs = 60_000,
        BrokerAddressFamily = BrokerAddressFamily.V4,
    };

    public static ConsumerConfig Consumer(string bootstrap, string group) => new()
    {
        BootstrapServers = bootstrap,
        GroupId = group,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        SessionTimeoutMs = 3000,
        HeartbeatIntervalMs = 300,
        EnableAutoCommit = true,
        AutoCommitIntervalMs = 200,
        BrokerAddressFamily = BrokerAddressFamily.V4,
    };

    public static async Task CreateTopicAsync(string bootstrap, string topic, int partitions)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap, BrokerAddressFamily = BrokerAddressFamily.V4 }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = 1 }]);
    }

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}

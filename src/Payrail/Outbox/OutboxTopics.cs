using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Payrail.Outbox;

/// <summary>
/// Creates <c>payments.v1</c> and the consumers' <c>payments.v1.dlq</c> with <see cref="RelayOptions.TopicPartitions"/>
/// partitions. Idempotent: a topic that exists already is left as it is (its partition count included).
/// </summary>
public static class OutboxTopics
{
    public static async Task EnsureAsync(string bootstrapServers, RelayOptions options, CancellationToken cancellationToken)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig
        {
            BootstrapServers = bootstrapServers,
            SocketTimeoutMs = options.SocketTimeoutMs,
            BrokerAddressFamily = BrokerAddressFamily.V4,
        }).Build();
        var timeout = TimeSpan.FromMilliseconds(options.AdminTimeoutMs);
        var topics = new[] { options.Topic, options.DeadLetterTopic }
            .Select(name => new TopicSpecification { Name = name, NumPartitions = options.TopicPartitions, ReplicationFactor = options.TopicReplicationFactor })
            .ToList();
        try
        {
            await admin.CreateTopicsAsync(topics, new CreateTopicsOptions { RequestTimeout = timeout, OperationTimeout = timeout })
                .WaitAsync(timeout, cancellationToken);
        }
        catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
        {
            // Another worker (or an earlier start) created them: exactly what was asked.
        }
    }
}

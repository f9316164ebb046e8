using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Payrail.Hosting;

namespace Payrail.Consumers;

/// <summary>
/// Creates <c>payments.v1</c> and its dead-letter topic when the broker lacks them (a fresh devkafka): consumers do not
/// auto-create topics, and a group subscribed to a missing topic would wait silently. Existing topics are left as they are.
/// </summary>
public sealed class ConsumerTopics(KafkaOptions kafka, ConsumersOptions options)
{
    private const int AdminTimeoutMs = 10_000;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _ensured;

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_ensured) return;
            using var admin = new AdminClientBuilder(new AdminClientConfig
            {
                BootstrapServers = kafka.BootstrapServers,
                BrokerAddressFamily = BrokerAddressFamily.V4,
            }).Build();
            var metadata = admin.GetMetadata(TimeSpan.FromMilliseconds(AdminTimeoutMs));
            var missing = new[] { options.Topic, options.DeadLetterTopic }
                .Where(name => metadata.Topics.All(t => t.Topic != name || t.Error.Code != ErrorCode.NoError)).ToList();
            if (missing.Count > 0)
            {
                try
                {
                    await admin.CreateTopicsAsync(missing.Select(name => new TopicSpecification
                        { Name = name, NumPartitions = options.TopicPartitions, ReplicationFactor = 1 }),
                        new CreateTopicsOptions { RequestTimeout = TimeSpan.FromMilliseconds(AdminTimeoutMs) });
                }
                catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
                {
                    // Another worker (or the relay) created it first: what we wanted.
                }
            }
            _ensured = true;
        }
        finally
        {
            _gate.Release();
        }
    }
}

using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Payrail.Hosting;

namespace Payrail.Consumers;

/// <summary>
/// Publishes a message that cannot be handled to <c>payments.v1.dlq</c>: the original key, body and headers, plus the
/// error, the attempt count and the original coordinates. The caller stores the original offset only after the delivery
/// report, so a failed dead-letter publish keeps the message instead of dropping it. One idempotent producer
/// (acks=all) shared by every loop of the worker; a crash after the publish and before the offset store can publish a
/// dead letter twice, which the coordinates headers make easy to see.
/// </summary>
public sealed class DeadLetters : IDisposable
{
    public const string ErrorHeader = "dlq_error";
    public const string AttemptsHeader = "dlq_attempts";
    public const string ConsumerHeader = "dlq_consumer";
    public const string TopicHeader = "dlq_original_topic";
    public const string PartitionHeader = "dlq_original_partition";
    public const string OffsetHeader = "dlq_original_offset";

    private readonly ConsumersOptions _options;
    private readonly Lazy<IProducer<byte[]?, byte[]?>> _producer;

    public DeadLetters(KafkaOptions kafka, ConsumersOptions options)
    {
        _options = options;
        _producer = new(() => new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            MessageTimeoutMs = options.DeadLetterTimeoutMs,
            BrokerAddressFamily = BrokerAddressFamily.V4,
            ClientId = "payrail-dead-letters",
        }).Build());
    }

    /// <summary>Waits for the delivery report (bounded by DeadLetterTimeoutMs); throws when the broker did not take it.</summary>
    public void Publish(ConsumeResult<byte[]?, byte[]?> original, string consumer, string error, int attempts)
    {
        var headers = new Headers();
        foreach (var header in original.Message.Headers ?? []) headers.Add(header.Key, header.GetValueBytes());
        headers.Add(ErrorHeader, Utf8(error.Length > ConsumersOptions.MaxErrorChars ? error[..ConsumersOptions.MaxErrorChars] : error));
        headers.Add(AttemptsHeader, Utf8(attempts.ToString(CultureInfo.InvariantCulture)));
        headers.Add(ConsumerHeader, Utf8(consumer));
        headers.Add(TopicHeader, Utf8(original.Topic));
        headers.Add(PartitionHeader, Utf8(original.Partition.Value.ToString(CultureInfo.InvariantCulture)));
        headers.Add(OffsetHeader, Utf8(original.Offset.Value.ToString(CultureInfo.InvariantCulture)));
        var message = new Message<byte[]?, byte[]?> { Key = original.Message.Key, Value = original.Message.Value, Headers = headers };
        // The delivery report is bounded by message.timeout.ms; the extra second covers the report's own trip.
        var delivery = _producer.Value.ProduceAsync(_options.DeadLetterTopic, message);
        if (!delivery.Wait(_options.DeadLetterTimeoutMs + 1_000))
            throw new TimeoutException("the dead-letter topic did not acknowledge in time");
        delivery.GetAwaiter().GetResult();
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public void Dispose()
    {
        if (!_producer.IsValueCreated) return;
        _producer.Value.Flush(TimeSpan.FromMilliseconds(_options.DeadLetterTimeoutMs));
        _producer.Value.Dispose();
    }
}

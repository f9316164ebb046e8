using System.Buffers.Binary;
using Confluent.Kafka;
using Payrail.Testing;
using Xunit;
using ErrorCode = DevKafka.Protocol.ErrorCode;

namespace DevKafka.Tests;

/// <summary>Idempotent-producer sequence rules driven over a raw socket, including across a broker restart.</summary>
public sealed class SequenceOnTheWireTests(DevKafkaFixture kafka) : IClassFixture<DevKafkaFixture>
{
    private int _correlation;

    private async Task<(short Error, long BaseOffset)> ProduceAsync(RawClient client, string topic, long pid, int sequence, string value)
    {
        var batch = WireFormat.RecordBatch($"payment-{sequence}", value, pid, 0, sequence);
        await client.SendAsync(RawClient.Request(0, 3, ++_correlation, WireFormat.ProduceBody(topic, batch)));
        var response = await client.ReceiveAsync() ?? throw new InvalidOperationException("connection closed");
        return WireFormat.ProduceResult(response, topic);
    }

    private long HighWatermark(string topic)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(KafkaClients.Consumer(kafka.BootstrapServers, "watermarks")).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10)).High.Value;
    }

    [Fact]
    public async Task A_resent_batch_gets_its_original_offset_and_a_sequence_gap_is_rejected_even_after_a_restart()
    {
        var topic = KafkaClients.Unique("sequence");
        await KafkaClients.CreateTopicAsync(kafka.BootstrapServers, topic, 1);

        long pid;
        using (var client = await RawClient.ConnectAsync(kafka.Port))
        {
            await client.SendAsync(RawClient.Request(22, 1, ++_correlation, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])); // InitProducerId(null, -1)
            var init = await client.ReceiveAsync();
            Assert.NotNull(init);
            Assert.Equal(0, BinaryPrimitives.ReadInt16BigEndian(init.AsSpan(8)));
            pid = BinaryPrimitives.ReadInt64BigEndian(init.AsSpan(10));

            Assert.Equal((ErrorCode.None, 0L), await ProduceAsync(client, topic, pid, 0, "authorised"));
            Assert.Equal((ErrorCode.None, 1L), await ProduceAsync(client, topic, pid, 1, "captured"));
            Assert.Equal((ErrorCode.None, 0L), await ProduceAsync(client, topic, pid, 0, "authorised")); // retry of seq 0
            Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, (await ProduceAsync(client, topic, pid, 5, "refunded")).Error);
            Assert.Equal(2, HighWatermark(topic));
        }

        await kafka.RestartAsync(); // producer state is rebuilt from the log
        using (var client = await RawClient.ConnectAsync(kafka.Port))
        {
            Assert.Equal((ErrorCode.None, 1L), await ProduceAsync(client, topic, pid, 1, "captured"));
            Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, (await ProduceAsync(client, topic, pid, 3, "settled")).Error);
            Assert.Equal((ErrorCode.None, 2L), await ProduceAsync(client, topic, pid, 2, "settled"));
            Assert.Equal(3, HighWatermark(topic));
        }
    }
}

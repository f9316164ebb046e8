using System.Collections.Concurrent;
using Confluent.Kafka;
using Payrail.Testing;
using Xunit;

namespace DevKafka.Tests;

public sealed class IdempotentProducerTests(DevKafkaFixture kafka) : IClassFixture<DevKafkaFixture>
{
    [Fact]
    public async Task Ten_thousand_acks_all_messages_arrive_once_each_in_per_key_order()
    {
        const int count = 10_000;
        var topic = KafkaClients.Unique("payments");
        await KafkaClients.CreateTopicAsync(kafka.BootstrapServers, topic, 6);

        var acked = new ConcurrentDictionary<int, long>();
        using (var producer = new ProducerBuilder<string, string>(KafkaClients.Producer(kafka.BootstrapServers)).Build())
        {
            for (var i = 0; i < count; i++)
            {
                var n = i;
                producer.Produce(topic, new Message<string, string> { Key = $"account-{n % 50}", Value = n.ToString(System.Globalization.CultureInfo.InvariantCulture) }, report =>
                {
                    Assert.Equal(ErrorCode.NoError, report.Error.Code);
                    Assert.True(acked.TryAdd(n, report.Offset.Value), $"message {n} acknowledged twice");
                });
            }
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(60)));
        }
        Assert.Equal(count, acked.Count);

        var seen = new List<(string Key, int Value)>();
        using (var consumer = new ConsumerBuilder<string, string>(KafkaClients.Consumer(kafka.BootstrapServers, KafkaClients.Unique("audit"))).Build())
        {
            consumer.Assign(Enumerable.Range(0, 6).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (seen.Count < count && DateTime.UtcNow < deadline)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (result is not null) seen.Add((result.Message.Key, int.Parse(result.Message.Value, System.Globalization.CultureInfo.InvariantCulture)));
            }
            // Nothing beyond the 10,000: a duplicate would show up here.
            Assert.Null(consumer.Consume(TimeSpan.FromMilliseconds(700)));
        }

        Assert.Equal(count, seen.Count);
        Assert.Equal(Enumerable.Range(0, count), seen.Select(s => s.Value).Order());
        foreach (var perKey in seen.GroupBy(s => s.Key))
            Assert.Equal(perKey.Select(s => s.Value).Order(), perKey.Select(s => s.Value));
    }

    [Fact]
    public async Task CloudEvents_headers_keys_and_values_round_trip_byte_for_byte()
    {
        const string topic = "payments.v1";
        var body = System.Text.Encoding.UTF8.GetBytes("{\"paymentId\":\"pay_123\",\"amountMinor\":1999,\"currency\":\"EUR\"}");
        var headers = new Headers
        {
            { "ce_id", "evt_0001"u8.ToArray() },
            { "ce_type", "payment.captured"u8.ToArray() },
            { "ce_source", "/payments"u8.ToArray() },
            { "ce_time", "2026-11-25T20:00:00Z"u8.ToArray() },
        };
        using (var producer = new ProducerBuilder<string, byte[]>(KafkaClients.Producer(kafka.BootstrapServers)).Build())
        {
            var report = await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = "pay_123", Value = body, Headers = headers });
            Assert.Equal(PersistenceStatus.Persisted, report.Status);
        }

        var config = KafkaClients.Consumer(kafka.BootstrapServers, "notifications");
        using var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        consumer.Subscribe(topic);
        ConsumeResult<string, byte[]>? result = null;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (result is null && DateTime.UtcNow < deadline) result = consumer.Consume(TimeSpan.FromMilliseconds(200));
        Assert.NotNull(result);
        Assert.Equal("pay_123", result.Message.Key);
        Assert.Equal(body, result.Message.Value);
        Assert.Equal(headers.Select(h => (h.Key, h.GetValueBytes())), result.Message.Headers.Select(h => (h.Key, h.GetValueBytes())));
        consumer.Close();
    }

    [Theory]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void Compressed_batches_are_stored_as_sent_and_read_back(CompressionType compression)
    {
        var topic = KafkaClients.Unique("compressed");
        var config = KafkaClients.Producer(kafka.BootstrapServers);
        config.CompressionType = compression;
        using (var producer = new ProducerBuilder<string, string>(config).Build())
        {
            for (var i = 0; i < 100; i++)
                producer.Produce(topic, new Message<string, string> { Key = "merchant-7", Value = $"settlement line {i:D4} EUR 1999" });
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }
        using var consumer = new ConsumerBuilder<string, string>(KafkaClients.Consumer(kafka.BootstrapServers, KafkaClients.Unique("reader"))).Build();
        var partition = Enumerable.Range(0, 6).Single(p =>
            consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value > 0);
        consumer.Assign(new TopicPartitionOffset(topic, partition, Offset.Beginning));
        var values = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (values.Count < 100 && DateTime.UtcNow < deadline)
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } r) values.Add(r.Message.Value);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"settlement line {i:D4} EUR 1999"), values);
    }
}

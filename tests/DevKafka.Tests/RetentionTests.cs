using System.Globalization;
using Confluent.Kafka;
using DevKafka.Broker;
using Payrail.Testing;
using Xunit;

namespace DevKafka.Tests;

/// <summary>A broker with tiny segments and a small per-partition size cap, checked often.</summary>
public sealed class SmallRetentionFixture : DevKafkaFixture
{
    protected override DevKafkaOptions Configure(DevKafkaOptions options) => options with
    {
        SegmentBytes = 4096,
        RetentionBytes = 16_384,
        RetentionCheckInterval = TimeSpan.FromMilliseconds(100),
    };
}

public sealed class RetentionTests(SmallRetentionFixture kafka) : IClassFixture<SmallRetentionFixture>
{
    [Fact]
    public async Task Old_segments_beyond_the_size_cap_are_deleted_and_the_log_start_moves()
    {
        var topic = KafkaClients.Unique("retained");
        await KafkaClients.CreateTopicAsync(kafka.BootstrapServers, topic, 1);
        var config = KafkaClients.Producer(kafka.BootstrapServers);
        config.LingerMs = 0;
        using (var producer = new ProducerBuilder<Null, string>(config).Build())
            for (var chunk = 0; chunk < 20; chunk++)
            {
                for (var i = 0; i < 5; i++)
                    producer.Produce(topic, new Message<Null, string> { Value = new string('x', 1000) + (chunk * 5 + i).ToString(CultureInfo.InvariantCulture) });
                Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(10)));
            }

        var partitionDir = Path.Combine(kafka.DataDirectory, "topics", topic, "0");
        using var consumer = new ConsumerBuilder<Ignore, string>(KafkaClients.Consumer(kafka.BootstrapServers, KafkaClients.Unique("late"))).Build();
        await Eventually.TrueAsync(() => consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(5)).Low.Value > 0,
            TimeSpan.FromSeconds(10), "log start offset moved past deleted segments");
        var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(5));
        Assert.Equal(100, watermarks.High.Value);
        Assert.True(Directory.GetFiles(partitionDir, "*.log").Sum(f => new FileInfo(f).Length) <= 16_384 + 8192);

        // A consumer starting from the beginning is served from the new log start, not an error.
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var first = consumer.Consume(TimeSpan.FromSeconds(10));
        Assert.NotNull(first);
        Assert.Equal(watermarks.Low.Value, first.Offset.Value);
    }
}

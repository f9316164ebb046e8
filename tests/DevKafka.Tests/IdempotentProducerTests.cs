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
}

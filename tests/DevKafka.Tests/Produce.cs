using System.Globalization;
using Confluent.Kafka;
using Xunit;

namespace DevKafka.Tests;

internal static class Produce
{
    /// <summary>Produces values [from, to) with acks=all and idempotence and waits until all are acknowledged.</summary>
    public static void Values(string bootstrap, string topic, int from, int to)
    {
        using var producer = new ProducerBuilder<string, string>(KafkaClients.Producer(bootstrap)).Build();
        for (var i = from; i < to; i++)
            producer.Produce(topic, new Message<string, string> { Key = $"k{i}", Value = i.ToString(CultureInfo.InvariantCulture) },
                r => Assert.Equal(ErrorCode.NoError, r.Error.Code));
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
    }
}

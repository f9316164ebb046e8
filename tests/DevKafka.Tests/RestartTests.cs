using System.Collections.Concurrent;
using System.Globalization;
using Confluent.Kafka;
using DevKafka.Log;
using Payrail.Testing;
using Xunit;

namespace DevKafka.Tests;

public sealed class RestartTests(DevKafkaFixture kafka, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<DevKafkaFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_broker_restart_mid_stream_loses_no_acknowledged_message_and_consumers_resume_from_commits()
    {
        const int total = 3000;
        var topic = KafkaClients.Unique("outbox");
        var group = KafkaClients.Unique("posting");
        await KafkaClients.CreateTopicAsync(kafka.BootstrapServers, topic, 3);

        var acked = new ConcurrentDictionary<int, bool>();
        var failed = new ConcurrentQueue<string>();
        using var consumer = new GroupMember(kafka.BootstrapServers, group, topic, "posting-1");
        var producing = Task.Run(() =>
        {
            using var producer = new ProducerBuilder<string, string>(KafkaClients.Producer(kafka.BootstrapServers)).Build();
            for (var chunk = 0; chunk < total / 100; chunk++)
            {
                for (var i = chunk * 100; i < (chunk + 1) * 100; i++)
                {
                    var n = i;
                    producer.Produce(topic, new Message<string, string> { Key = $"k{n % 7}", Value = n.ToString(CultureInfo.InvariantCulture) }, r =>
                    {
                        if (r.Error.Code == ErrorCode.NoError) acked[n] = true;
                        else failed.Enqueue($"{n}: {r.Error}");
                    });
                }
                producer.Flush(TimeSpan.FromSeconds(50));
            }
        });

        await Eventually.TrueAsync(() => acked.Count >= 1000, Deadline, "first third acknowledged");
        await kafka.RestartAsync();
        await producing.WaitAsync(Deadline);
        Assert.Empty(failed);
        Assert.Equal(total, acked.Count);

        await Eventually.TrueAsync(() => consumer.Received.Distinct().Count() == total, Deadline,
            "every acknowledged message consumed after the restart");
        // Close commits the final positions; that needs the member back in a stable generation after the restart.
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = kafka.BootstrapServers }).Build())
            await Eventually.TrueAsync(async () =>
            {
                var groupState = (await admin.DescribeConsumerGroupsAsync([group])).ConsumerGroupDescriptions.Single();
                return groupState.State == ConsumerGroupState.Stable && groupState.Members.Count == 1 && consumer.Assignment.Count == 3;
            }, Deadline, "consumer rejoined the restarted broker's group");
        await Eventually.TrueAsync(() => CommittedOffsets.CaughtUp(kafka.BootstrapServers, group, topic, 3), Deadline,
            "consumer committed everything it consumed");
        consumer.Close();

        // Committed offsets survive a second restart: a new member only sees what comes after them.
        await kafka.RestartAsync();
        Produce.Values(kafka.BootstrapServers, topic, total, total + 50);
        using var successor = new GroupMember(kafka.BootstrapServers, group, topic, "posting-2");
        await Eventually.TrueAsync(() => successor.Received.Count >= 50, Deadline, "successor consumed the 50 new messages");
        foreach (var line in kafka.LogLines) output.WriteLine(line);
        Assert.Equal(Enumerable.Range(total, 50), successor.Received.Order());
        successor.Close();
    }

    [Fact]
    public async Task A_torn_tail_is_truncated_on_restart_and_earlier_messages_stay_readable()
    {
        var topic = KafkaClients.Unique("torn");
        await KafkaClients.CreateTopicAsync(kafka.BootstrapServers, topic, 1);
        Produce.Values(kafka.BootstrapServers, topic, 0, 20);

        await kafka.StopAsync();
        var segment = Directory.GetFiles(Path.Combine(kafka.DataDirectory, "topics", topic, "0"), "*.log").Single();
        var intact = new FileInfo(segment).Length;
        await using (var file = new FileStream(segment, FileMode.Append))
            file.Write(new byte[] { 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 1, 0, 0, 0, 0, 0, 2, 9 }); // half a batch
        await kafka.StartAsync();

        Assert.Equal(intact, new FileInfo(segment).Length);
        Assert.Contains(kafka.LogLines, l => l.Contains("truncating torn tail", StringComparison.Ordinal));
        Produce.Values(kafka.BootstrapServers, topic, 20, 30);
        using var consumer = new ConsumerBuilder<string, string>(KafkaClients.Consumer(kafka.BootstrapServers, KafkaClients.Unique("reader"))).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var values = new List<int>();
        var deadline = DateTime.UtcNow + Deadline;
        while (values.Count < 30 && DateTime.UtcNow < deadline)
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } r) values.Add(int.Parse(r.Message.Value, CultureInfo.InvariantCulture));
        Assert.Equal(Enumerable.Range(0, 30), values);
    }
}

using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Payrail.Testing;
using Xunit;

namespace DevKafka.Tests;

/// <summary>Fetch holds the request until data arrives or max_wait passes: consumers never spin on an idle log.</summary>
public sealed class FetchLongPollTests(DevKafkaFixture kafka) : IClassFixture<DevKafkaFixture>
{
    private static byte[] FetchV4(string topic, int maxWaitMs, long offset, int minBytes = 1)
    {
        var name = Encoding.UTF8.GetBytes(topic);
        var body = new byte[4 + 4 + 4 + 4 + 1 + 4 + 2 + name.Length + 4 + 4 + 8 + 4];
        var s = body.AsSpan();
        BinaryPrimitives.WriteInt32BigEndian(s, -1);            // replica id
        BinaryPrimitives.WriteInt32BigEndian(s[4..], maxWaitMs);
        BinaryPrimitives.WriteInt32BigEndian(s[8..], minBytes);
        BinaryPrimitives.WriteInt32BigEndian(s[12..], 1 << 20);  // max bytes
        s[16] = 0;                                               // isolation
        BinaryPrimitives.WriteInt32BigEndian(s[17..], 1);
        BinaryPrimitives.WriteInt16BigEndian(s[21..], (short)name.Length);
        name.CopyTo(s[23..]);
        var at = 23 + name.Length;
        BinaryPrimitives.WriteInt32BigEndian(s[at..], 1);
        BinaryPrimitives.WriteInt32BigEndian(s[(at + 4)..], 0);  // partition
        BinaryPrimitives.WriteInt64BigEndian(s[(at + 8)..], offset);
        BinaryPrimitives.WriteInt32BigEndian(s[(at + 16)..], 1 << 20);
        return RawClient.Request(1, 4, 9, body);
    }

    /// <summary>High watermark and records length of the single partition in a Fetch v4 response.</summary>
    private static (long HighWatermark, int RecordsLength) Parse(byte[] response, string topic)
    {
        var at = 4 + 4 + 4 + 2 + Encoding.UTF8.GetByteCount(topic) + 4 + 4 + 2;
        var hwm = BinaryPrimitives.ReadInt64BigEndian(response.AsSpan(at));
        at += 8 + 8; // hwm, last stable offset
        var aborted = BinaryPrimitives.ReadInt32BigEndian(response.AsSpan(at));
        at += 4 + Math.Max(aborted, 0) * 16;
        return (hwm, BinaryPrimitives.ReadInt32BigEndian(response.AsSpan(at)));
    }

    [Fact]
    public async Task An_empty_fetch_waits_for_max_wait_and_a_parked_fetch_wakes_on_produce()
    {
        var topic = KafkaClients.Unique("longpoll");
        await KafkaClients.CreateTopicAsync(kafka.BootstrapServers, topic, 1);
        using var client = await RawClient.ConnectAsync(kafka.Port);

        var clock = Stopwatch.StartNew();
        await client.SendAsync(FetchV4(topic, 600, 0));
        var idle = await client.ReceiveAsync();
        Assert.NotNull(idle);
        Assert.True(clock.ElapsedMilliseconds >= 550, $"empty fetch answered after {clock.ElapsedMilliseconds} ms instead of waiting");
        Assert.Equal((0L, 0), Parse(idle, topic));

        clock.Restart();
        await client.SendAsync(FetchV4(topic, 20_000, 0));
        var parked = client.ReceiveAsync();
        Assert.False(parked.IsCompleted);
        Produce.Values(kafka.BootstrapServers, topic, 0, 1); // from other connections, while the fetch is parked
        var woken = await parked.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.NotNull(woken);
        var (hwm, recordsLength) = Parse(woken, topic);
        Assert.Equal(1, hwm);
        Assert.True(recordsLength > 61, "the woken fetch carries the new batch");
        Assert.True(clock.ElapsedMilliseconds < 15_000);
    }

    [Fact]
    public async Task A_fetch_below_its_min_bytes_is_held_until_max_wait_and_wakes_early_once_enough_arrived()
    {
        var topic = KafkaClients.Unique("minbytes");
        await KafkaClients.CreateTopicAsync(kafka.BootstrapServers, topic, 1);
        using var client = await RawClient.ConnectAsync(kafka.Port);

        // One small batch while the fetch wants 4 KB: held to its max wait, then answered with what is there.
        var clock = Stopwatch.StartNew();
        await client.SendAsync(FetchV4(topic, 1_500, 0, minBytes: 4_096));
        var held = client.ReceiveAsync();
        Produce.Values(kafka.BootstrapServers, topic, 0, 1);
        var answered = await held.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.True(clock.ElapsedMilliseconds >= 1_400, $"answered after {clock.ElapsedMilliseconds} ms with less than its min bytes");
        var (hwm, recordsLength) = Parse(answered!, topic);
        Assert.Equal(1, hwm);
        Assert.True(recordsLength > 61, "the held fetch still carries the small batch");

        // Enough bytes wake a long-parked fetch long before its max wait, with all of them.
        clock.Restart();
        await client.SendAsync(FetchV4(topic, 20_000, 1, minBytes: 4_096));
        var parked = client.ReceiveAsync();
        using (var producer = new Confluent.Kafka.ProducerBuilder<string, string>(KafkaClients.Producer(kafka.BootstrapServers)).Build())
        {
            producer.Produce(topic, new Confluent.Kafka.Message<string, string> { Key = "big", Value = new string('x', 8_192) });
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }
        var woken = await parked.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.True(clock.ElapsedMilliseconds < 15_000);
        var (after, bigLength) = Parse(woken!, topic);
        Assert.Equal(2, after);
        Assert.True(bigLength >= 4_096, $"the woken fetch carries {bigLength} bytes");
    }
}

using System.Buffers.Binary;
using System.Text;
using Confluent.Kafka;
using DevKafka.Protocol;
using ErrorCode = DevKafka.Protocol.ErrorCode;
using Payrail.Testing;
using Xunit;

namespace DevKafka.Tests;

public sealed class MalformedInputTests(DevKafkaFixture kafka) : IClassFixture<DevKafkaFixture>
{
    private static readonly byte[] ApiVersionsV0 = RawClient.Request(18, 0, 1, []);

    /// <summary>The broker still answers a fresh client: bad input only costs the offending connection.</summary>
    private async Task AssertStillServingAsync()
    {
        using var client = await RawClient.ConnectAsync(kafka.Port);
        await client.SendAsync(ApiVersionsV0);
        var response = await client.ReceiveAsync();
        Assert.NotNull(response);
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(response));
        Assert.Equal(0, BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(4)));
    }

    [Fact]
    public async Task A_truncated_frame_closes_only_that_connection()
    {
        using var client = await RawClient.ConnectAsync(kafka.Port);
        await client.SendAsync(ApiVersionsV0[..10]); // size says 10 more bytes than are sent
        client.ShutdownSend();
        Assert.Null(await client.ReceiveAsync());
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task A_huge_length_prefix_closes_the_connection_without_allocating()
    {
        using var client = await RawClient.ConnectAsync(kafka.Port);
        await client.SendAsync([0x7F, 0xFF, 0xFF, 0xFF, 0, 18, 0, 0]);
        Assert.Null(await client.ReceiveAsync());
        await Eventually.TrueAsync(() => kafka.LogLines.Any(l => l.Contains("request size 2147483647", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(5), "the broker logged why it closed the connection");
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task A_body_that_lies_about_its_array_length_closes_the_connection()
    {
        using var client = await RawClient.ConnectAsync(kafka.Port);
        await client.SendAsync(RawClient.Request(3, 1, 5, [0x7F, 0, 0, 0])); // Metadata with 2 billion topics
        Assert.Null(await client.ReceiveAsync());
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task An_unknown_api_key_is_answered_with_unsupported_version()
    {
        using var client = await RawClient.ConnectAsync(kafka.Port);
        await client.SendAsync(RawClient.Request(999, 0, 42, []));
        var response = await client.ReceiveAsync();
        Assert.NotNull(response);
        Assert.Equal(42, BinaryPrimitives.ReadInt32BigEndian(response));
        Assert.Equal(ErrorCode.UnsupportedVersion, BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(4)));
        // The connection stays usable.
        await client.SendAsync(ApiVersionsV0);
        Assert.NotNull(await client.ReceiveAsync());
    }

    [Fact]
    public async Task A_batch_with_a_bad_crc_is_rejected_as_corrupt_and_nothing_is_stored()
    {
        var topic = KafkaClients.Unique("crc");
        await KafkaClients.CreateTopicAsync(kafka.BootstrapServers, topic, 1);
        var batch = WireFormat.RecordBatch("payment-1", "captured");
        batch[^1] ^= 0xFF; // flip a bit in the value after the CRC was computed

        using var client = await RawClient.ConnectAsync(kafka.Port);
        await client.SendAsync(RawClient.Request(0, 3, 7, WireFormat.ProduceBody(topic, batch)));
        var response = await client.ReceiveAsync();
        Assert.NotNull(response);
        // correlation id, [topic], topic name, [partition], partition index, error code
        var at = 4 + 4 + 2 + Encoding.UTF8.GetByteCount(topic) + 4 + 4;
        Assert.Equal(ErrorCode.CorruptMessage, BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(at)));

        using var consumer = new ConsumerBuilder<string, string>(KafkaClients.Consumer(kafka.BootstrapServers, "crc-check")).Build();
        var offsets = consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10));
        Assert.Equal(0, offsets.High.Value);

        // The same batch with a correct CRC is accepted on the same connection.
        await client.SendAsync(RawClient.Request(0, 3, 8, WireFormat.ProduceBody(topic, WireFormat.RecordBatch("payment-1", "captured"))));
        response = await client.ReceiveAsync();
        Assert.NotNull(response);
        Assert.Equal(ErrorCode.None, BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(at)));
        await AssertStillServingAsync();
    }

}

/// <summary>A broker that gives up on a half-sent frame after one second.</summary>
public sealed class ShortFrameTimeoutFixture : DevKafkaFixture
{
    protected override DevKafka.Broker.DevKafkaOptions Configure(DevKafka.Broker.DevKafkaOptions options) =>
        options with { FrameReadTimeout = TimeSpan.FromSeconds(1) };
}

public sealed class StalledFrameTests(ShortFrameTimeoutFixture kafka) : IClassFixture<ShortFrameTimeoutFixture>
{
    [Fact]
    public async Task A_client_that_stalls_mid_frame_is_disconnected()
    {
        using var client = await RawClient.ConnectAsync(kafka.Port);
        await client.SendAsync(RawClient.Request(18, 0, 1, [])[..9]); // size prefix + part of the header, then silence
        Assert.Null(await client.ReceiveAsync()); // closed by the broker well before the 10 s receive timeout
        Assert.Contains(kafka.LogLines, l => l.Contains("not received within", StringComparison.Ordinal));
    }
}

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
        var batch = RecordBatch("payment-1", "captured");
        batch[^1] ^= 0xFF; // flip a bit in the value after the CRC was computed

        using var client = await RawClient.ConnectAsync(kafka.Port);
        await client.SendAsync(RawClient.Request(0, 3, 7, ProduceBody(topic, batch)));
        var response = await client.ReceiveAsync();
        Assert.NotNull(response);
        // correlation id, [topic], topic name, [partition], partition index, error code
        var at = 4 + 4 + 2 + Encoding.UTF8.GetByteCount(topic) + 4 + 4;
        Assert.Equal(ErrorCode.CorruptMessage, BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(at)));

        using var consumer = new ConsumerBuilder<string, string>(KafkaClients.Consumer(kafka.BootstrapServers, "crc-check")).Build();
        var offsets = consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10));
        Assert.Equal(0, offsets.High.Value);

        // The same batch with a correct CRC is accepted on the same connection.
        await client.SendAsync(RawClient.Request(0, 3, 8, ProduceBody(topic, RecordBatch("payment-1", "captured"))));
        response = await client.ReceiveAsync();
        Assert.NotNull(response);
        Assert.Equal(ErrorCode.None, BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(at)));
        await AssertStillServingAsync();
    }

    private static byte[] ProduceBody(string topic, byte[] batch)
    {
        var name = Encoding.UTF8.GetBytes(topic);
        var body = new List<byte>();
        void I16(short v) { var b = new byte[2]; BinaryPrimitives.WriteInt16BigEndian(b, v); body.AddRange(b); }
        void I32(int v) { var b = new byte[4]; BinaryPrimitives.WriteInt32BigEndian(b, v); body.AddRange(b); }
        I16(-1); I16(-1); I32(5000); // transactional id null, acks all, timeout
        I32(1); I16((short)name.Length); body.AddRange(name);
        I32(1); I32(0); I32(batch.Length); body.AddRange(batch);
        return body.ToArray();
    }

    /// <summary>A one-record RecordBatch v2 with a correct CRC-32C.</summary>
    private static byte[] RecordBatch(string key, string value)
    {
        var k = Encoding.UTF8.GetBytes(key);
        var v = Encoding.UTF8.GetBytes(value);
        var record = new List<byte> { 0 }; // attributes
        record.Add(0); // timestamp delta (zig-zag varint 0)
        record.Add(0); // offset delta
        record.Add((byte)(k.Length * 2)); record.AddRange(k);
        record.Add((byte)(v.Length * 2)); record.AddRange(v);
        record.Add(0); // no headers
        var records = new List<byte> { (byte)(record.Count * 2) };
        records.AddRange(record);

        var batch = new byte[61 + records.Count];
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(8), batch.Length - 12);
        batch[16] = 2;
        BinaryPrimitives.WriteInt64BigEndian(batch.AsSpan(27), 1_700_000_000_000);
        BinaryPrimitives.WriteInt64BigEndian(batch.AsSpan(35), 1_700_000_000_000);
        BinaryPrimitives.WriteInt64BigEndian(batch.AsSpan(43), -1);
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(51), -1);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(53), -1);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(57), 1);
        records.CopyTo(batch, 61);
        BinaryPrimitives.WriteUInt32BigEndian(batch.AsSpan(17), RecordBatchHeader.ComputeCrc(batch));
        return batch;
    }
}

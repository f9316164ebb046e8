using System.Buffers.Binary;
using System.Text;
using DevKafka.Protocol;

namespace DevKafka.Tests;

/// <summary>Hand-built request bodies for raw-socket tests (the broker's own codecs are not used to build them).</summary>
internal static class WireFormat
{
    public static byte[] ProduceBody(string topic, byte[] batch, short acks = -1)
    {
        var name = Encoding.UTF8.GetBytes(topic);
        var body = new List<byte>();
        void I16(short v) { var b = new byte[2]; BinaryPrimitives.WriteInt16BigEndian(b, v); body.AddRange(b); }
        void I32(int v) { var b = new byte[4]; BinaryPrimitives.WriteInt32BigEndian(b, v); body.AddRange(b); }
        I16(-1); I16(acks); I32(5000); // transactional id null, acks, timeout
        I32(1); I16((short)name.Length); body.AddRange(name);
        I32(1); I32(0); I32(batch.Length); body.AddRange(batch);
        return body.ToArray();
    }

    /// <summary>(error, base offset) of the single partition in a Produce v3 response frame.</summary>
    public static (short Error, long BaseOffset) ProduceResult(byte[] response, string topic)
    {
        var at = 4 + 4 + 2 + Encoding.UTF8.GetByteCount(topic) + 4 + 4;
        return (BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(at)), BinaryPrimitives.ReadInt64BigEndian(response.AsSpan(at + 2)));
    }

    /// <summary>A one-record RecordBatch v2 with a correct CRC-32C.</summary>
    public static byte[] RecordBatch(string key, string value, long producerId = -1, short epoch = -1, int sequence = -1)
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
        BinaryPrimitives.WriteInt64BigEndian(batch.AsSpan(43), producerId);
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(51), epoch);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(53), sequence);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(57), 1);
        records.CopyTo(batch, 61);
        BinaryPrimitives.WriteUInt32BigEndian(batch.AsSpan(17), RecordBatchHeader.ComputeCrc(batch));
        return batch;
    }
}

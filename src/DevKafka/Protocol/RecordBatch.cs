using System.Buffers.Binary;
using System.Numerics;

namespace DevKafka.Protocol;

/// <summary>The RecordBatch v2 header fields the broker needs; the records themselves stay opaque bytes.</summary>
public readonly record struct RecordBatchHeader(
    long BaseOffset, int BatchLength, byte Magic, uint Crc, short Attributes, int LastOffsetDelta,
    long BaseTimestamp, long MaxTimestamp, long ProducerId, short ProducerEpoch, int BaseSequence, int RecordCount)
{
    public const int HeaderSize = 61;
    public const int LogOverhead = 12; // baseOffset + batchLength
    public int TotalSize => BatchLength + LogOverhead;
    public bool IsControl => (Attributes & 0x20) != 0;
    public bool IsTransactional => (Attributes & 0x10) != 0;
    public int LastSequence => BaseSequence < 0 ? -1 : (int)((BaseSequence + (long)RecordCount - 1) % ((long)int.MaxValue + 1));

    public static bool TryParse(ReadOnlySpan<byte> b, out RecordBatchHeader header)
    {
        header = default;
        if (b.Length < HeaderSize) return false;
        header = new RecordBatchHeader(
            BinaryPrimitives.ReadInt64BigEndian(b), BinaryPrimitives.ReadInt32BigEndian(b[8..]), b[16],
            BinaryPrimitives.ReadUInt32BigEndian(b[17..]), BinaryPrimitives.ReadInt16BigEndian(b[21..]),
            BinaryPrimitives.ReadInt32BigEndian(b[23..]), BinaryPrimitives.ReadInt64BigEndian(b[27..]),
            BinaryPrimitives.ReadInt64BigEndian(b[35..]), BinaryPrimitives.ReadInt64BigEndian(b[43..]),
            BinaryPrimitives.ReadInt16BigEndian(b[51..]), BinaryPrimitives.ReadInt32BigEndian(b[53..]),
            BinaryPrimitives.ReadInt32BigEndian(b[57..]));
        return true;
    }

    /// <summary>CRC-32C over attributes..end, as the batch's crc field must hold.</summary>
    public static uint ComputeCrc(ReadOnlySpan<byte> batch) => Crc32C(batch[21..]);

    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (var b in data) crc = BitOperations.Crc32C(crc, b);
        return crc ^ 0xFFFFFFFFu;
    }
}

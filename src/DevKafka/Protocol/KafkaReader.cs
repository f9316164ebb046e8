using System.Buffers.Binary;
using System.Text;

namespace DevKafka.Protocol;

/// <summary>Thrown when a request does not parse; the connection that sent it is closed.</summary>
public sealed class MalformedRequestException(string message) : Exception(message);

/// <summary>Big-endian cursor over one request frame. Every read is bounds-checked against the frame.</summary>
public sealed class KafkaReader(byte[] buffer, int offset, int length)
{
    private readonly int _end = offset + length;
    private int _pos = offset;

    public byte[] Buffer => buffer;
    public int Position => _pos;
    public int Remaining => _end - _pos;

    private int Take(int count)
    {
        if (count < 0 || count > _end - _pos) throw new MalformedRequestException($"need {count} bytes, {_end - _pos} left");
        var at = _pos;
        _pos += count;
        return at;
    }

    public sbyte Int8() => (sbyte)buffer[Take(1)];
    public bool Bool() => buffer[Take(1)] != 0;
    public short Int16() => BinaryPrimitives.ReadInt16BigEndian(buffer.AsSpan(Take(2), 2));
    public int Int32() => BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(Take(4), 4));
    public long Int64() => BinaryPrimitives.ReadInt64BigEndian(buffer.AsSpan(Take(8), 8));

    public string String() => NullableString() ?? throw new MalformedRequestException("null string where one is required");

    public string? NullableString()
    {
        var len = Int16();
        if (len < 0) return null;
        return Encoding.UTF8.GetString(buffer, Take(len), len);
    }

    /// <summary>Nullable BYTES as a slice of the frame (no copy).</summary>
    public ArraySegment<byte>? NullableBytes()
    {
        var len = Int32();
        if (len < 0) return null;
        return new ArraySegment<byte>(buffer, Take(len), len);
    }

    public ArraySegment<byte> Bytes() => NullableBytes() ?? ArraySegment<byte>.Empty;

    /// <summary>Array length, -1 for null; bounded by what could still fit in the frame.</summary>
    public int ArrayLength(int minElementSize = 1)
    {
        var n = Int32();
        if (n < -1 || (n > 0 && (long)n * minElementSize > Remaining)) throw new MalformedRequestException($"array length {n} exceeds frame");
        return n;
    }

    public uint UVarInt()
    {
        uint value = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            var b = buffer[Take(1)];
            value |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new MalformedRequestException("varint too long");
    }

    public string? CompactNullableString()
    {
        var n = (int)UVarInt();
        if (n == 0) return null;
        var len = n - 1;
        return Encoding.UTF8.GetString(buffer, Take(len), len);
    }

    public void SkipTaggedFields()
    {
        var count = UVarInt();
        if (count > 1024) throw new MalformedRequestException("too many tagged fields");
        for (var i = 0; i < count; i++)
        {
            UVarInt();
            var size = (int)UVarInt();
            Take(size);
        }
    }
}

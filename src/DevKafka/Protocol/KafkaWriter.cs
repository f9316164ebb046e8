using System.Buffers.Binary;
using System.Text;

namespace DevKafka.Protocol;

/// <summary>Builds one response frame: size prefix, correlation id, body (big-endian).</summary>
public sealed class KafkaWriter
{
    private byte[] _buf;
    private int _len;

    public KafkaWriter(int correlationId, int capacity = 256)
    {
        _buf = new byte[Math.Max(capacity, 16)];
        _len = 4; // size prefix patched by ToFrame
        Int32(correlationId);
    }

    private Span<byte> Grow(int count)
    {
        if (_len + count > _buf.Length) Array.Resize(ref _buf, Math.Max(_buf.Length * 2, _len + count));
        var span = _buf.AsSpan(_len, count);
        _len += count;
        return span;
    }

    public KafkaWriter Int8(sbyte v) { Grow(1)[0] = (byte)v; return this; }
    public KafkaWriter Bool(bool v) { Grow(1)[0] = v ? (byte)1 : (byte)0; return this; }
    public KafkaWriter Int16(short v) { BinaryPrimitives.WriteInt16BigEndian(Grow(2), v); return this; }
    public KafkaWriter Int32(int v) { BinaryPrimitives.WriteInt32BigEndian(Grow(4), v); return this; }
    public KafkaWriter Int64(long v) { BinaryPrimitives.WriteInt64BigEndian(Grow(8), v); return this; }

    public KafkaWriter String(string? v)
    {
        if (v is null) return Int16(-1);
        var n = Encoding.UTF8.GetByteCount(v);
        Int16(checked((short)n));
        Encoding.UTF8.GetBytes(v, Grow(n));
        return this;
    }

    public KafkaWriter Bytes(ReadOnlySpan<byte> v)
    {
        Int32(v.Length);
        v.CopyTo(Grow(v.Length));
        return this;
    }

    public KafkaWriter NullBytes() => Int32(-1);

    public KafkaWriter UVarInt(uint v)
    {
        while (v >= 0x80) { Grow(1)[0] = (byte)(v | 0x80); v >>= 7; }
        Grow(1)[0] = (byte)v;
        return this;
    }

    public KafkaWriter EmptyTaggedFields() => UVarInt(0);

    public byte[] ToFrame()
    {
        BinaryPrimitives.WriteInt32BigEndian(_buf, _len - 4);
        if (_buf.Length != _len) Array.Resize(ref _buf, _len);
        return _buf;
    }
}

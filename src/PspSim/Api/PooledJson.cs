using System.Buffers;
using System.Text.Json;

namespace PspSim.Api;

/// <summary>
/// An answer's JSON written into a buffer rented from the shared pool: a page of 100 balance transactions with their
/// charges is ≈ 140 KB, and a fresh array (or string) of that size per page lands on the large object heap, whose
/// collections are gen 2 ones. <see cref="Dispose"/> gives the buffer back once the answer is on the wire; an answer
/// never disposed only misses the reuse.
/// </summary>
public sealed class PooledJson : IBufferWriter<byte>, IDisposable
{
    private const int InitialBytes = 4_096;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialBytes);
    private int _written;

    /// <summary>The JSON <paramref name="write"/> produces (compact, Stripe's escaping: the writer's defaults).</summary>
    public static PooledJson Write(Action<Utf8JsonWriter> write)
    {
        var json = new PooledJson();
        using var writer = new Utf8JsonWriter(json);
        write(writer);
        writer.Flush();
        return json;
    }

    public ReadOnlyMemory<byte> Written
    {
        get
        {
            ObjectDisposedException.ThrowIf(_buffer.Length == 0, this);
            return _buffer.AsMemory(0, _written);
        }
    }

    public void Advance(int count)
    {
        if (count < 0 || _written + count > _buffer.Length) throw new ArgumentOutOfRangeException(nameof(count));
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _written = 0;
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
    }

    private void Ensure(int sizeHint)
    {
        ObjectDisposedException.ThrowIf(_buffer.Length == 0, this);
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length) return;
        var grown = ArrayPool<byte>.Shared.Rent(Math.Max(needed, checked(_buffer.Length * 2)));
        _buffer.AsSpan(0, _written).CopyTo(grown);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = grown;
    }
}

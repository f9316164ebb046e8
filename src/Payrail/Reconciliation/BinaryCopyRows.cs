using System.Buffers.Binary;
using System.Text;
using Npgsql;

namespace Payrail.Reconciliation;

/// <summary>
/// Rows encoded in PostgreSQL's binary COPY format into one reused buffer, sent to a raw COPY stream as it fills. Through
/// NpgsqlBinaryImporter each column is a call and a parameter of its own: a fifth of the process's time in the decide phase
/// and more than parsing the PSP's JSON in the read phase (dotnet-trace, `bench reconcile`). The server reads these as it
/// read the importer's rows: the same binary formats of the same types.
/// </summary>
internal sealed class BinaryCopyRows(NpgsqlRawCopyStream copy)
{
    private const int BufferBytes = 64 * 1024;

    /// <summary>An async writer sends at this fill (<see cref="ShouldSend"/>): a row of up to the rest fits without a blocking send.</summary>
    private const int SendAtBytes = BufferBytes / 2;

    /// <summary>COPY BINARY's signature, flags (none) and header extension length (none).</summary>
    private static readonly byte[] Header = [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xFF, (byte)'\r', (byte)'\n', 0,
        0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>Strict, as Npgsql's own: a string that is not valid UTF-16 fails the copy rather than store a replacement.</summary>
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>PostgreSQL's timestamps count microseconds from 2000-01-01 UTC.</summary>
    private static readonly long PostgresEpochTicks = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    private byte[] _buffer = NewBuffer();
    private int _used = Header.Length;
    private bool _ended;

    private static byte[] NewBuffer()
    {
        var buffer = new byte[BufferBytes];
        Header.CopyTo(buffer, 0);
        return buffer;
    }

    /// <summary>True once half the buffer is used: an async writer awaits <see cref="SendAsync"/> between rows.</summary>
    public bool ShouldSend => _used >= SendAtBytes;

    public void Row(short columns)
    {
        Reserve(2);
        BinaryPrimitives.WriteInt16BigEndian(_buffer.AsSpan(_used), columns);
        _used += 2;
    }

    public void Int32(int value) => BinaryPrimitives.WriteInt32BigEndian(Field(4), value);

    public void Int64(long? value)
    {
        if (value is { } number) BinaryPrimitives.WriteInt64BigEndian(Field(8), number);
        else Null();
    }

    public void TimestampTz(DateTimeOffset value) => Int64((value.UtcTicks - PostgresEpochTicks) / TimeSpan.TicksPerMicrosecond);

    public void Uuid(Guid? value)
    {
        if (value is { } uuid) uuid.TryWriteBytes(Field(16), bigEndian: true, out _);
        else Null();
    }

    /// <summary>A fixed-size field: its length written, the span for its value returned.</summary>
    private Span<byte> Field(int length)
    {
        Reserve(4 + length);
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_used), length);
        var value = _buffer.AsSpan(_used + 4, length);
        _used += 4 + length;
        return value;
    }

    public void Text(string? value)
    {
        if (value is null)
        {
            Null();
            return;
        }
        Reserve(4 + Utf8.GetMaxByteCount(value.Length));
        var length = Utf8.GetBytes(value, _buffer.AsSpan(_used + 4));
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_used), length);
        _used += 4 + length;
    }

    private void Null()
    {
        Reserve(4);
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_used), -1);
        _used += 4;
    }

    /// <summary>Room for <paramref name="bytes"/> more: the buffer is sent first (blocking), or grown for a field larger than itself.</summary>
    private void Reserve(int bytes)
    {
        if (_used + bytes <= _buffer.Length) return;
        copy.Write(_buffer, 0, _used);
        _used = 0;
        if (bytes > _buffer.Length) _buffer = new byte[bytes];
    }

    public async ValueTask SendAsync(CancellationToken cancellationToken)
    {
        await copy.WriteAsync(_buffer.AsMemory(0, _used), cancellationToken);
        _used = 0;
    }

    /// <summary>Sends the rest and the trailer and ends the COPY: the server has every row when this returns.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        Reserve(2);
        BinaryPrimitives.WriteInt16BigEndian(_buffer.AsSpan(_used), -1);
        _used += 2;
        await SendAsync(cancellationToken);
        _ended = true;
        await copy.DisposeAsync();
    }

    /// <summary>
    /// Cancels an unfinished COPY, so none of its rows are stored (disposing a raw COPY stream would end it, rows and all);
    /// a session already broken is left to its owner to close.
    /// </summary>
    public async Task CancelAsync()
    {
        if (_ended) return;
        _ended = true;
        try { await copy.CancelAsync(); }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or OperationCanceledException or IOException) { }
    }
}

using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace DevKafka.Tests;

/// <summary>A bare TCP client that writes hand-made Kafka frames, for malformed-input tests.</summary>
internal sealed class RawClient : IDisposable
{
    private readonly TcpClient _tcp = new();
    private NetworkStream _stream = null!;

    public static async Task<RawClient> ConnectAsync(int port)
    {
        var c = new RawClient();
        await c._tcp.ConnectAsync("127.0.0.1", port);
        c._stream = c._tcp.GetStream();
        c._stream.ReadTimeout = 10_000;
        return c;
    }

    public static byte[] Request(short apiKey, short version, int correlationId, byte[] body)
    {
        var client = Encoding.UTF8.GetBytes("raw-test");
        var frame = new byte[4 + 2 + 2 + 4 + 2 + client.Length + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, frame.Length - 4);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(4), apiKey);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(6), version);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(8), correlationId);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(12), (short)client.Length);
        client.CopyTo(frame, 14);
        body.CopyTo(frame, 14 + client.Length);
        return frame;
    }

    public Task SendAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    public void ShutdownSend() => _tcp.Client.Shutdown(SocketShutdown.Send);

    /// <summary>The next response frame (without its size prefix), or null if the broker closed the connection.</summary>
    public async Task<byte[]?> ReceiveAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var size = new byte[4];
        if (await _stream.ReadAtLeastAsync(size, 4, throwOnEndOfStream: false, timeout.Token) < 4) return null;
        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
        await _stream.ReadExactlyAsync(body, timeout.Token);
        return body;
    }

    public void Dispose() => _tcp.Dispose();
}

using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Threading.Channels;
using DevKafka.Broker.Handlers;
using DevKafka.Protocol;

namespace DevKafka.Broker;

/// <summary>
/// One client socket: a reader that frames requests and starts their handlers in arrival order, and a writer
/// that sends the responses strictly in that same order (librdkafka pipelines requests). A malformed frame
/// closes this connection only.
/// </summary>
internal sealed class Connection(Socket socket, RequestHandlers handlers, DevKafkaOptions options, ByteBudget budget, Action<string> log)
{
    private readonly string _peer = socket.RemoteEndPoint?.ToString() ?? "?";
    // Cancelled when the reader stops: responses still parked (long-poll fetch, join) are then dropped, not awaited.
    private readonly CancellationTokenSource _closed = new();

    public void Close()
    {
        try { socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        socket.Dispose();
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        socket.NoDelay = true;
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        var responses = Channel.CreateBounded<(Task<byte[]?> Response, int RequestBytes)>(new BoundedChannelOptions(options.MaxInFlightPerConnection) { SingleReader = true, SingleWriter = true });
        var writer = WriteLoopAsync(stream, responses.Reader);
        try
        {
            var sizeBuffer = new byte[4];
            while (!stopping.IsCancellationRequested)
            {
                var got = await stream.ReadAtLeastAsync(sizeBuffer, 4, throwOnEndOfStream: false, stopping).ConfigureAwait(false);
                if (got == 0) break; // clean close
                if (got < 4) { log($"{_peer}: connection closed inside a size prefix"); break; }
                var size = BinaryPrimitives.ReadInt32BigEndian(sizeBuffer);
                if (size < 8 || size > options.MaxRequestBytes)
                {
                    log($"{_peer}: closing: request size {size} outside 8..{options.MaxRequestBytes}");
                    break;
                }
                await budget.AcquireAsync(size, stopping).ConfigureAwait(false);
                // Pooled: handlers parse and apply a request before their first await and keep no reference to it.
                var frame = ArrayPool<byte>.Shared.Rent(size);
                int read;
                using (var bodyDeadline = CancellationTokenSource.CreateLinkedTokenSource(stopping))
                {
                    // A client that stalls mid-frame must not hold its buffer and budget forever.
                    bodyDeadline.CancelAfter(options.FrameReadTimeout);
                    try { read = await stream.ReadAtLeastAsync(frame.AsMemory(0, size), size, throwOnEndOfStream: false, bodyDeadline.Token).ConfigureAwait(false); }
                    catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                    {
                        log($"{_peer}: closing: frame of {size} bytes not received within {options.FrameReadTimeout.TotalSeconds:0} s");
                        read = -1;
                    }
                }
                if (read < size)
                {
                    ArrayPool<byte>.Shared.Return(frame);
                    budget.Release(size);
                    if (read >= 0) log($"{_peer}: closing: truncated frame (expected {size} bytes)");
                    break;
                }
                Task<byte[]?> response;
                try
                {
                    var reader = new KafkaReader(frame, 0, size);
                    var apiKey = reader.Int16();
                    var apiVersion = reader.Int16();
                    var correlationId = reader.Int32();
                    var clientId = reader.NullableString();
                    if (apiKey == ApiKey.ApiVersions && apiVersion >= 3) reader.SkipTaggedFields(); // request header v2
                    response = handlers.Handle(new RequestHeader(apiKey, apiVersion, correlationId, clientId, _peer), reader);
                }
                catch (MalformedRequestException e)
                {
                    budget.Release(size);
                    log($"{_peer}: closing: malformed request: {e.Message}");
                    break;
                }
                catch (Exception e)
                {
                    // A handler bug or a disk error must cost this connection, never the broker.
                    budget.Release(size);
                    log($"{_peer}: closing after internal error: {e}");
                    break;
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(frame);
                }
                await responses.Writer.WriteAsync((response, size), stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
        finally
        {
            responses.Writer.TryComplete();
            await _closed.CancelAsync().ConfigureAwait(false);
            await writer.ConfigureAwait(false);
            _closed.Dispose();
            Close();
            while (responses.Reader.TryRead(out var left)) budget.Release(left.RequestBytes);
        }
    }

    private async Task WriteLoopAsync(NetworkStream stream, ChannelReader<(Task<byte[]?> Response, int RequestBytes)> responses)
    {
        try
        {
            await foreach (var (pending, requestBytes) in responses.ReadAllAsync().ConfigureAwait(false))
            {
                try
                {
                    var frame = await pending.WaitAsync(_closed.Token).ConfigureAwait(false);
                    if (frame is not null) await stream.WriteAsync(frame).ConfigureAwait(false);
                }
                finally
                {
                    budget.Release(requestBytes);
                }
            }
        }
        catch (MalformedRequestException e)
        {
            log($"{_peer}: closing: malformed request: {e.Message}");
            Close();
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            Close();
        }
        catch (Exception e)
        {
            // A handler bug must cost this connection, never the broker.
            log($"{_peer}: closing after internal error: {e}");
            Close();
        }
    }
}

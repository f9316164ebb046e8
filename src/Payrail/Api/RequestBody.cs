using System.Buffers;
using Microsoft.Net.Http.Headers;

namespace Payrail.Api;

/// <summary>Reads a JSON request body within the API's limits: JSON content type (415) and 64 KiB (413).</summary>
public static class RequestBody
{
    public const int MaxBytes = 64 * 1024;

    public static async Task<(ReadOnlyMemory<byte> Body, IResult? Refusal)> ReadJsonAsync(HttpContext http)
    {
        var request = http.Request;
        if (!IsJson(request.ContentType))
            return (default, Problems.Result(Problems.UnsupportedMediaType, "Unsupported media type", StatusCodes.Status415UnsupportedMediaType,
                "Send the body as application/json."));
        if (request.ContentLength > MaxBytes) return (default, TooLarge());

        // Read at most one chunk past the limit: a chunked body that never ends cannot make us buffer it all.
        var buffer = new ArrayBufferWriter<byte>(InitialCapacity(request.ContentLength));
        while (true)
        {
            var memory = NextChunk(buffer);
            var read = await request.Body.ReadAsync(memory, http.RequestAborted);
            if (read == 0) break;
            buffer.Advance(read);
            if (buffer.WrittenCount > MaxBytes) return (default, TooLarge());
        }
        return (buffer.WrittenMemory, null);
    }

    /// <summary>
    /// A declared length plus one byte, so the read that finds the end needs no room of its own: asking for 4096 bytes
    /// there grew the buffer (a copy of the body and 4 KiB more) on every request, 2.6 KB per payment and 7 KB per webhook.
    /// </summary>
    internal static int InitialCapacity(long? contentLength) => contentLength is { } length ? (int)length + 1 : 4096;

    /// <summary>The free space left, else 4 KiB more (a body longer than declared, or chunked).</summary>
    internal static Memory<byte> NextChunk(ArrayBufferWriter<byte> buffer) =>
        buffer.FreeCapacity > 0 ? buffer.GetMemory() : buffer.GetMemory(4096);

    private static bool IsJson(string? contentType) =>
        contentType is not null && MediaTypeHeaderValue.TryParse(contentType, out var media)
        && media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        && (!media.Charset.HasValue || media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));

    private static IResult TooLarge() =>
        Problems.Result(Problems.BodyTooLarge, "Request body too large", StatusCodes.Status413PayloadTooLarge,
            $"The body must be at most {MaxBytes} bytes.");
}

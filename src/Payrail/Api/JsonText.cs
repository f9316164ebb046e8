using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Payrail.Api;

/// <summary>The text a <see cref="Utf8JsonWriter"/> writes: one way for every resource that renders itself.</summary>
public static class JsonText
{
    public static string Of(Action<Utf8JsonWriter> write, int initialBytes = 1024)
    {
        var buffer = new ArrayBufferWriter<byte>(initialBytes);
        using (var json = new Utf8JsonWriter(buffer))
        {
            write(json);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

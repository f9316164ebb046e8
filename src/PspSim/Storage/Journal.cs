using System.Text;
using System.Text.Json;

namespace PspSim.Storage;

/// <summary>
/// Append-only JSON-lines journal: one line per object version, replayed on start (last version wins).
/// Each write is handed to the OS (survives a process crash) but not fsynced, so pspsim stays far
/// above 1,000 payment intents/s; losing the tail on a machine crash is acceptable for a sandbox.
/// The file is never rewritten; it grows with history (no compaction yet).
/// </summary>
public sealed class Journal : IDisposable
{
    public const string FileName = "journal.jsonl";

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        // The journal is read only by pspsim: no HTML-safe escaping needed.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly Lock _gate = new();
    private readonly FileStream _file;
    private readonly Utf8JsonWriter _writer;

    public string Path { get; }

    private Journal(string path, FileStream file)
    {
        Path = path;
        _file = file;
        _writer = new Utf8JsonWriter(_file);
    }

    /// <summary>Opens (exclusively: one pspsim per data dir) and replays every complete line.</summary>
    public static Journal Open(string dataDir, Action<string, JsonElement> replay)
    {
        Directory.CreateDirectory(dataDir);
        var path = System.IO.Path.Combine(dataDir, FileName);
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 64 * 1024);
        var endsWithNewline = true;
        if (file.Length > 0)
        {
            using (var reader = new StreamReader(file, Encoding.UTF8, false, 64 * 1024, leaveOpen: true))
            {
                while (reader.ReadLine() is { } line)
                {
                    if (line.Length == 0) continue;
                    JsonDocument doc;
                    // A crash can leave a torn last line: skip it, the request it belonged to never answered.
                    try { doc = JsonDocument.Parse(line); }
                    catch (JsonException) { continue; }
                    using (doc) replay(doc.RootElement.GetProperty("k").GetString()!, doc.RootElement.GetProperty("v"));
                }
            }
            file.Seek(-1, SeekOrigin.End);
            endsWithNewline = file.ReadByte() == '\n';
        }
        file.Seek(0, SeekOrigin.End);
        if (!endsWithNewline) file.WriteByte((byte)'\n');
        return new Journal(path, file);
    }

    public void Append<T>(string kind, T value)
    {
        lock (_gate)
        {
            _writer.Reset(_file);
            _writer.WriteStartObject();
            _writer.WriteString("k", kind);
            _writer.WritePropertyName("v");
            JsonSerializer.Serialize(_writer, value, Json);
            _writer.WriteEndObject();
            _writer.Flush();
            _file.WriteByte((byte)'\n');
        }
    }

    /// <summary>Hands buffered lines to the OS (no fsync).</summary>
    public void Flush()
    {
        lock (_gate) _file.Flush(flushToDisk: false);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _writer.Dispose();
            _file.Flush(flushToDisk: true);
            _file.Dispose();
        }
    }
}

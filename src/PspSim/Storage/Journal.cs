using System.Text;
using System.Text.Json;

namespace PspSim.Storage;

/// <summary>
/// Append-only JSON-lines journal: one line per object version, replayed on start (last version wins).
/// Each write is handed to the OS (survives a process crash) but not fsynced, so pspsim stays far
/// above 1,000 payment intents/s; losing the tail on a machine crash is acceptable for a sandbox.
/// The journal of the current generation is appended to; <see cref="Compaction"/> moves appends to the next
/// generation's file (<see cref="Rotate"/>) and folds the older ones into a snapshot (see <see cref="JournalFiles"/>).
/// </summary>
public sealed class Journal : IDisposable
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        // The journal is read only by pspsim: no HTML-safe escaping needed.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly Lock _gate = new();
    private readonly string _dataDir;
    private FileStream _file;
    private Utf8JsonWriter _writer;
    private long _bytes;

    /// <summary>The generation appended to (0 = journal.jsonl, the only one before any compaction).</summary>
    public long Generation { get; private set; }
    public string Path => JournalFiles.JournalPath(_dataDir, Generation);
    /// <summary>Bytes in the current generation's file (what <see cref="PspSimOptions.MaxJournalBytes"/> bounds).</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    private Journal(string dataDir, long generation, FileStream file)
    {
        _dataDir = dataDir;
        Generation = generation;
        _file = file;
        _bytes = file.Length;
        _writer = new Utf8JsonWriter(_file);
    }

    /// <summary>
    /// Replays the newest complete snapshot and the journals written since (see <see cref="JournalFiles.Replay"/>),
    /// then opens the newest journal for appending (exclusively: one pspsim per data dir).
    /// </summary>
    public static Journal Open(string dataDir, Action<string, JsonElement> replay)
    {
        var generation = JournalFiles.Replay(dataDir, replay);
        return new Journal(dataDir, generation, OpenForAppend(JournalFiles.JournalPath(dataDir, generation)));
    }

    private static FileStream OpenForAppend(string path)
    {
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 64 * 1024);
        var endsWithNewline = true;
        if (file.Length > 0)
        {
            file.Seek(-1, SeekOrigin.End);
            endsWithNewline = file.ReadByte() == '\n';
        }
        file.Seek(0, SeekOrigin.End);
        // A torn last line stays unparseable on its own line; what follows starts clean.
        if (!endsWithNewline) file.WriteByte((byte)'\n');
        return file;
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
            Interlocked.Exchange(ref _bytes, _file.Position);
        }
    }

    /// <summary>
    /// Hands the current file to the OS and appends to the next generation's from now on; returns the new generation.
    /// Every line appended before this call is in a file of an older generation.
    /// </summary>
    public long Rotate()
    {
        lock (_gate)
        {
            var next = Generation + 1;
            var file = OpenForAppend(JournalFiles.JournalPath(_dataDir, next));
            _writer.Dispose();
            _file.Flush(flushToDisk: false);
            _file.Dispose();
            _file = file;
            _writer = new Utf8JsonWriter(_file);
            Generation = next;
            Interlocked.Exchange(ref _bytes, file.Length);
            return next;
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

    /// <summary>Reads every complete line of a journal or snapshot file (a torn line, left by a crash, is skipped).</summary>
    internal static void ReadLines(string path, Action<string, JsonElement> each)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 64 * 1024);
        using var reader = new StreamReader(file, Encoding.UTF8, false, 64 * 1024);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0) continue;
            JsonDocument doc;
            // A crash can leave a torn last line: skip it, the request it belonged to never answered.
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException) { continue; }
            using (doc) each(doc.RootElement.GetProperty("k").GetString()!, doc.RootElement.GetProperty("v"));
        }
    }
}

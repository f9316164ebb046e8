using Microsoft.Win32.SafeHandles;

namespace DevKafka.Log;

/// <summary>Position of one stored record batch inside a segment file.</summary>
public readonly record struct BatchEntry(long BaseOffset, long LastOffset, long Position, int Size, long MaxTimestamp);

/// <summary>One append-only file of record batches, named after its first offset.</summary>
public sealed class Segment : IDisposable
{
    private readonly List<BatchEntry> _batches = new();

    public Segment(string path, long baseOffset, SafeFileHandle handle)
    {
        Path = path;
        BaseOffset = baseOffset;
        Handle = handle;
    }

    public string Path { get; }
    public long BaseOffset { get; }
    public SafeFileHandle Handle { get; }
    public long Size { get; private set; }
    /// <summary>Bytes known to be on disk; guarded by the owning log's flush lock.</summary>
    public long FlushedSize { get; set; }
    public long MaxTimestamp { get; private set; } = -1;
    public IReadOnlyList<BatchEntry> Batches => _batches;
    public long NextOffset => _batches.Count == 0 ? BaseOffset : _batches[^1].LastOffset + 1;

    public static string FileName(long baseOffset) => $"{baseOffset:D20}.log";

    public void Add(BatchEntry entry)
    {
        _batches.Add(entry);
        Size = entry.Position + entry.Size;
        MaxTimestamp = Math.Max(MaxTimestamp, entry.MaxTimestamp);
    }

    /// <summary>Index of the first batch whose last offset is at or after <paramref name="offset"/>, or Count.</summary>
    public int FindBatch(long offset)
    {
        int lo = 0, hi = _batches.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_batches[mid].LastOffset < offset) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    public void Dispose() => Handle.Dispose();
}

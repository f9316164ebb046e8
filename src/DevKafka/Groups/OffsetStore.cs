using System.Globalization;
using System.Text;

namespace DevKafka.Groups;

public readonly record struct CommittedOffset(long Offset, int LeaderEpoch, string? Metadata);

/// <summary>
/// Committed consumer-group offsets, persisted as an append-only line file (fsynced before the commit is
/// acknowledged) and compacted on startup and when it grows past a bound. A torn last line is ignored.
/// </summary>
public sealed class OffsetStore : IDisposable
{
    private const int CompactAfterLines = 100_000;
    private readonly object _gate = new();
    private readonly Dictionary<(string Group, string Topic, int Partition), CommittedOffset> _offsets = new();
    private readonly HashSet<string> _groups = new(StringComparer.Ordinal);
    private readonly string _path;
    private FileStream _file;
    private int _lines;

    public OffsetStore(string directory, Action<string> log)
    {
        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, "offsets.log");
        if (File.Exists(_path))
        {
            foreach (var line in File.ReadLines(_path))
                if (!TryParse(line, out var key, out var value)) log($"offsets: skipping unreadable line in {_path}");
                else { _offsets[key] = value; _groups.Add(key.Item1); }
        }
        _file = Compact();
    }

    public CommittedOffset? Get(string group, string topic, int partition)
    {
        lock (_gate) return _offsets.TryGetValue((group, topic, partition), out var v) ? v : null;
    }

    public IReadOnlyList<(string Topic, int Partition, CommittedOffset Offset)> ForGroup(string group)
    {
        lock (_gate) return _offsets.Where(kv => kv.Key.Group == group).Select(kv => (kv.Key.Topic, kv.Key.Partition, kv.Value)).ToList();
    }

    public bool HasGroup(string group)
    {
        lock (_gate) return _groups.Contains(group);
    }

    public IReadOnlyList<string> Groups()
    {
        lock (_gate) return _groups.ToList();
    }

    public void Commit(string group, IReadOnlyList<(string Topic, int Partition, CommittedOffset Offset)> entries)
    {
        if (entries.Count == 0) return;
        var sb = new StringBuilder();
        foreach (var (topic, partition, offset) in entries) sb.Append(Format(group, topic, partition, offset)).Append('\n');
        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        lock (_gate)
        {
            _file.Write(bytes);
            _file.Flush(flushToDisk: true);
            foreach (var (topic, partition, offset) in entries) _offsets[(group, topic, partition)] = offset;
            _groups.Add(group);
            _lines += entries.Count;
            if (_lines > CompactAfterLines + _offsets.Count)
            {
                _file.Dispose();
                _file = Compact();
            }
        }
    }

    /// <summary>Forgets a group's offsets; the file is rewritten so the deletion is durable.</summary>
    public void DeleteGroup(string group)
    {
        lock (_gate)
        {
            foreach (var key in _offsets.Keys.Where(k => k.Group == group).ToList()) _offsets.Remove(key);
            _groups.Remove(group);
            _file.Dispose();
            _file = Compact();
        }
    }

    public void DeleteTopic(string topic)
    {
        lock (_gate)
            foreach (var key in _offsets.Keys.Where(k => k.Topic == topic).ToList()) _offsets.Remove(key);
    }

    /// <summary>Rewrites the file with the current offsets (temp file + rename) and reopens it for appends.</summary>
    private FileStream Compact()
    {
        var tmp = _path + ".tmp";
        using (var w = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            var bytes = Encoding.UTF8.GetBytes(string.Concat(_offsets.Select(kv => Format(kv.Key.Group, kv.Key.Topic, kv.Key.Partition, kv.Value) + "\n")));
            w.Write(bytes);
            w.Flush(flushToDisk: true);
        }
        File.Move(tmp, _path, overwrite: true);
        _lines = _offsets.Count;
        return new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read);
    }

    private static string B64(string? s) => s is null ? "-" : Convert.ToBase64String(Encoding.UTF8.GetBytes(s));
    private static string? UnB64(string s) => s == "-" ? null : Encoding.UTF8.GetString(Convert.FromBase64String(s));

    private static string Format(string group, string topic, int partition, CommittedOffset o) =>
        string.Join(' ', B64(group), B64(topic), partition.ToString(CultureInfo.InvariantCulture),
            o.Offset.ToString(CultureInfo.InvariantCulture), o.LeaderEpoch.ToString(CultureInfo.InvariantCulture), B64(o.Metadata), "$");

    private static bool TryParse(string line, out (string, string, int) key, out CommittedOffset value)
    {
        key = default;
        value = default;
        var f = line.Split(' ');
        if (f.Length != 7 || f[6] != "$") return false; // "$" marks a complete line
        try
        {
            key = (UnB64(f[0])!, UnB64(f[1])!, int.Parse(f[2], CultureInfo.InvariantCulture));
            value = new CommittedOffset(long.Parse(f[3], CultureInfo.InvariantCulture), int.Parse(f[4], CultureInfo.InvariantCulture), UnB64(f[5]));
            return key.Item1 is not null && key.Item2 is not null;
        }
        catch (FormatException) { return false; }
        catch (OverflowException) { return false; }
    }

    public void Dispose()
    {
        lock (_gate) _file.Dispose();
    }
}

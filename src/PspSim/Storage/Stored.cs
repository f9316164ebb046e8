namespace PspSim.Storage;

/// <summary>An object the sandbox keeps: listed newest first by insertion sequence, filtered by creation time.</summary>
public interface IStored
{
    string Id { get; }
    long Created { get; }
}

/// <summary>
/// Objects of one kind in insertion order. Unbounded by default (Stripe keeps payment objects);
/// with <paramref name="maxRows"/> above zero the oldest rows are evicted first once the table holds
/// more than that (in batches of a tenth, so eviction costs O(1) amortized per insert).
/// </summary>
public sealed class Table<T>(int maxRows = 0) where T : class, IStored
{
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly List<T> _rows = [];

    public int Count => _rows.Count;
    public T this[int position] => _rows[position];

    public T? Find(string id) => _index.TryGetValue(id, out var i) ? _rows[i] : null;
    public int PositionOf(string id) => _index.TryGetValue(id, out var i) ? i : -1;

    public void Upsert(T row)
    {
        if (_index.TryGetValue(row.Id, out var i)) _rows[i] = row;
        else
        {
            _index[row.Id] = _rows.Count;
            _rows.Add(row);
            if (maxRows > 0 && _rows.Count > maxRows + Math.Max(1, maxRows / 10)) EvictOldest();
        }
    }

    /// <summary>The rows in insertion order, copied (a compaction serializes them a chunk at a time).</summary>
    public T[] CopyRows() => [.. _rows];

    /// <summary>Removes every row <paramref name="evict"/> selects (order of the rest kept); O(rows).</summary>
    public int RemoveAll(Func<T, bool> evict)
    {
        var removed = _rows.RemoveAll(r => evict(r));
        if (removed == 0) return 0;
        _index.Clear();
        for (var i = 0; i < _rows.Count; i++) _index[_rows[i].Id] = i;
        return removed;
    }

    private void EvictOldest()
    {
        var evicted = _rows.Count - maxRows;
        for (var i = 0; i < evicted; i++) _index.Remove(_rows[i].Id);
        _rows.RemoveRange(0, evicted);
        foreach (var key in _index.Keys.ToList()) _index[key] -= evicted;
    }
}

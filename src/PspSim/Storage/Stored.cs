namespace PspSim.Storage;

/// <summary>An object the sandbox keeps: listed newest first by insertion sequence, filtered by creation time.</summary>
public interface IStored
{
    string Id { get; }
    long Created { get; }
}

/// <summary>
/// Objects of one kind in insertion order. Unbounded by default (Stripe keeps payment objects);
/// with <paramref name="maxRows"/> above zero the oldest rows are evicted first once the table holds more than that.
/// With <paramref name="groupOf"/>, the ids of each group (e.g. the charges of one PaymentIntent) are indexed too.
/// Every operation costs what it touches, never the size of the table: rows are a linked list indexed by id, so
/// removing one (the oldest, or one in the middle) is O(1) and nothing is renumbered. Eviction runs under the
/// store lock, which every request takes: a rebuild of the whole index there held it 75–750 ms at 50,000 payments.
/// </summary>
public sealed class Table<T>(int maxRows = 0, Func<T, string>? groupOf = null) where T : class, IStored
{
    private readonly Dictionary<string, LinkedListNode<T>> _index = new(StringComparer.Ordinal);
    private readonly LinkedList<T> _rows = new();
    private readonly Dictionary<string, List<string>> _groups = new(StringComparer.Ordinal);

    public int Count => _rows.Count;

    /// <summary>The row inserted first among those still held, if any.</summary>
    public T? Oldest => _rows.First?.Value;

    public T? Find(string id) => _index.TryGetValue(id, out var node) ? node.Value : null;

    public void Upsert(T row)
    {
        if (_index.TryGetValue(row.Id, out var node))
        {
            node.Value = row;
            return;
        }
        _index[row.Id] = _rows.AddLast(row);
        if (groupOf is not null) GroupOf(groupOf(row)).Add(row.Id);
        while (maxRows > 0 && _rows.Count > maxRows) Remove(_rows.First!.Value.Id);
    }

    /// <summary>The ids of the rows in <paramref name="group"/>, oldest first (empty without <c>groupOf</c>).</summary>
    public IReadOnlyList<string> IdsIn(string group) => _groups.TryGetValue(group, out var ids) ? ids : [];

    /// <summary>Removes the row; false when there was none. O(1), plus the size of its group when grouped.</summary>
    public bool Remove(string id)
    {
        if (!_index.Remove(id, out var node)) return false;
        _rows.Remove(node);
        if (groupOf is not null && _groups.TryGetValue(groupOf(node.Value), out var ids))
        {
            ids.Remove(id);
            if (ids.Count == 0) _groups.Remove(groupOf(node.Value));
        }
        return true;
    }

    /// <summary>Removes every row <paramref name="evict"/> selects; O(rows), for small tables (webhook endpoints).</summary>
    public int RemoveAll(Func<T, bool> evict)
    {
        var ids = OldestFirst().Where(evict).Select(r => r.Id).ToList();
        foreach (var id in ids) Remove(id);
        return ids.Count;
    }

    /// <summary>The rows oldest first. The table must not change while this is enumerated.</summary>
    public IEnumerable<T> OldestFirst()
    {
        for (var node = _rows.First; node is not null; node = node.Next) yield return node.Value;
    }

    /// <summary>
    /// The rows newest first, from the one just older than <paramref name="startingAfter"/> (from the newest when null);
    /// false when no row has that id. The table must not change while they are enumerated.
    /// </summary>
    public bool TryNewestFirst(string? startingAfter, out IEnumerable<T> rows)
    {
        LinkedListNode<T>? from = _rows.Last;
        if (startingAfter is not null)
        {
            if (!_index.TryGetValue(startingAfter, out var cursor))
            {
                rows = [];
                return false;
            }
            from = cursor.Previous;
        }
        rows = Walk(from, n => n.Previous);
        return true;
    }

    /// <summary>The rows newer than <paramref name="endingBefore"/>, oldest first; false when no row has that id.</summary>
    public bool TryOldestFirstAfter(string endingBefore, out IEnumerable<T> rows)
    {
        if (!_index.TryGetValue(endingBefore, out var cursor))
        {
            rows = [];
            return false;
        }
        rows = Walk(cursor.Next, n => n.Next);
        return true;
    }

    /// <summary>The rows in insertion order, copied (a compaction serializes them a chunk at a time).</summary>
    public T[] CopyRows()
    {
        var rows = new T[_rows.Count];
        _rows.CopyTo(rows, 0);
        return rows;
    }

    private List<string> GroupOf(string group)
    {
        if (!_groups.TryGetValue(group, out var ids)) _groups[group] = ids = [];
        return ids;
    }

    private static IEnumerable<T> Walk(LinkedListNode<T>? from, Func<LinkedListNode<T>, LinkedListNode<T>?> step)
    {
        for (var node = from; node is not null; node = step(node)) yield return node.Value;
    }
}

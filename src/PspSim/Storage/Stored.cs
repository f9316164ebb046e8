namespace PspSim.Storage;

/// <summary>An object the sandbox keeps: listed newest first by insertion sequence, filtered by creation time.</summary>
public interface IStored
{
    string Id { get; }
    long Created { get; }
}

/// <summary>Where a chunked read of a table stopped (see <see cref="ISnapshotTable.ReadChunk"/>).</summary>
public sealed class TableCursor
{
    internal object? Node;
    internal long Seq = -1;
}

/// <summary>A table as a compaction reads it: a chunk of rows per hold of the store lock, in insertion order.</summary>
public interface ISnapshotTable
{
    /// <summary>The sequence number the next inserted row gets: rows read up to it are the ones present now.</summary>
    long NextSeq { get; }

    /// <summary>
    /// Reads into <paramref name="rows"/> the rows after the cursor's, inserted before <paramref name="untilSeq"/>; the
    /// caller holds the store lock. Rows removed or added between two calls are simply skipped or not reached.
    /// </summary>
    int ReadChunk(TableCursor cursor, IStored[] rows, long untilSeq);
}

/// <summary>
/// Objects of one kind in insertion order. Unbounded by default (Stripe keeps payment objects);
/// with <paramref name="maxRows"/> above zero the oldest rows are evicted first once the table holds more than that.
/// With <paramref name="groupOf"/>, the ids of each group (e.g. the charges of one PaymentIntent) are indexed too.
/// Every operation costs what it touches, never the size of the table: rows are a linked list indexed by id, so
/// removing one (the oldest, or one in the middle) is O(1) and nothing is renumbered. Eviction runs under the
/// store lock, which every request takes: scanning tables and rebuilding their indexes there held it 54–189 ms to evict
/// 500 of 50,000 payments (offline, on the shared 2-core machine); now 1.4–15 ms.
/// </summary>
public sealed class Table<T>(int maxRows = 0, Func<T, string>? groupOf = null) : ISnapshotTable where T : class, IStored
{
    /// <summary>
    /// A row, its insertion sequence number (kept when the row is replaced in place) and the latest creation time of it
    /// and every row inserted before it: an upper bound still after removals, so a newest-first walk for rows created at
    /// or after a time stops where no older row can be (<see cref="TryNewestFirst(string?, long, out IEnumerable{T})"/>).
    /// </summary>
    private readonly record struct Slot(long Seq, T Row, long MaxCreatedThrough);

    private readonly Dictionary<string, LinkedListNode<Slot>> _index = new(StringComparer.Ordinal);
    private readonly LinkedList<Slot> _rows = new();
    private readonly Dictionary<string, List<string>> _groups = new(StringComparer.Ordinal);
    // False once a row was replaced by one created at another time (no Stripe object does): the bounds no longer hold.
    private bool _createdBoundsHold = true;

    public int Count => _rows.Count;

    public long NextSeq { get; private set; }

    /// <summary>The row inserted first among those still held, if any.</summary>
    public T? Oldest => _rows.First?.Value.Row;

    public T? Find(string id) => _index.TryGetValue(id, out var node) ? node.Value.Row : null;

    public void Upsert(T row)
    {
        if (_index.TryGetValue(row.Id, out var node))
        {
            if (row.Created != node.Value.Row.Created) _createdBoundsHold = false;
            node.Value = node.Value with { Row = row };
            return;
        }
        var bound = _rows.Last is { } last ? Math.Max(last.Value.MaxCreatedThrough, row.Created) : row.Created;
        _index[row.Id] = _rows.AddLast(new Slot(NextSeq++, row, bound));
        if (groupOf is not null) GroupOf(groupOf(row)).Add(row.Id);
        while (maxRows > 0 && _rows.Count > maxRows) Remove(_rows.First!.Value.Row.Id);
    }

    /// <summary>The ids of the rows in <paramref name="group"/>, oldest first (empty without <c>groupOf</c>).</summary>
    public IReadOnlyList<string> IdsIn(string group) => _groups.TryGetValue(group, out var ids) ? ids : [];

    /// <summary>Removes the row; false when there was none. O(1), plus the size of its group when grouped.</summary>
    public bool Remove(string id)
    {
        if (!_index.Remove(id, out var node)) return false;
        _rows.Remove(node);
        if (groupOf is not null && _groups.TryGetValue(groupOf(node.Value.Row), out var ids))
        {
            ids.Remove(id);
            if (ids.Count == 0) _groups.Remove(groupOf(node.Value.Row));
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
        for (var node = _rows.First; node is not null; node = node.Next) yield return node.Value.Row;
    }

    /// <summary>
    /// The rows newest first, from the one just older than <paramref name="startingAfter"/> (from the newest when null);
    /// false when no row has that id. The table must not change while they are enumerated.
    /// </summary>
    public bool TryNewestFirst(string? startingAfter, out IEnumerable<T> rows) => TryNewestFirst(startingAfter, long.MinValue, out rows);

    /// <summary>
    /// As <see cref="TryNewestFirst(string?, out IEnumerable{T})"/>, ending where no older row was created at or after
    /// <paramref name="createdAtLeast"/>: a listing of a past window does not walk the table's older history to learn
    /// that its last page has no more (reconciliation's readers list slices of a window: each slice's last page walked
    /// every older row of the table, under the store lock). Rows it leaves out would not have matched.
    /// </summary>
    public bool TryNewestFirst(string? startingAfter, long createdAtLeast, out IEnumerable<T> rows)
    {
        LinkedListNode<Slot>? from = _rows.Last;
        if (startingAfter is not null)
        {
            if (!_index.TryGetValue(startingAfter, out var cursor))
            {
                rows = [];
                return false;
            }
            from = cursor.Previous;
        }
        rows = _createdBoundsHold && createdAtLeast > long.MinValue ? WalkBack(from, createdAtLeast) : Walk(from, n => n.Previous);
        return true;
    }

    private static IEnumerable<T> WalkBack(LinkedListNode<Slot>? from, long createdAtLeast)
    {
        for (var node = from; node is not null && node.Value.MaxCreatedThrough >= createdAtLeast; node = node.Previous) yield return node.Value.Row;
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

    /// <summary>The rows in insertion order, copied. O(rows): a compaction reads chunks instead (<see cref="ReadChunk"/>).</summary>
    public T[] CopyRows() => [.. OldestFirst()];

    public int ReadChunk(TableCursor cursor, IStored[] rows, long untilSeq)
    {
        var node = cursor.Node switch
        {
            null => _rows.First,
            LinkedListNode<Slot> { List: not null } last => last.Next,
            // The row read last was removed meanwhile: go on from the first row inserted after it.
            _ => FirstAfter(cursor.Seq),
        };
        var count = 0;
        for (; node is not null && count < rows.Length && node.Value.Seq < untilSeq; node = node.Next)
        {
            rows[count++] = node.Value.Row;
            cursor.Node = node;
            cursor.Seq = node.Value.Seq;
        }
        return count;
    }

    /// <summary>O(rows before it); only after a removal during a snapshot (a capped table's oldest rows, a deleted endpoint).</summary>
    private LinkedListNode<Slot>? FirstAfter(long seq)
    {
        var node = _rows.First;
        while (node is not null && node.Value.Seq <= seq) node = node.Next;
        return node;
    }

    private List<string> GroupOf(string group)
    {
        if (!_groups.TryGetValue(group, out var ids)) _groups[group] = ids = [];
        return ids;
    }

    private static IEnumerable<T> Walk(LinkedListNode<Slot>? from, Func<LinkedListNode<Slot>, LinkedListNode<Slot>?> step)
    {
        for (var node = from; node is not null; node = step(node)) yield return node.Value.Row;
    }
}

namespace PspSim.Storage;

/// <summary>An object the sandbox keeps: listed newest first by insertion sequence, filtered by creation time.</summary>
public interface IStored
{
    string Id { get; }
    long Created { get; }
}

/// <summary>Objects of one kind in insertion order; nothing is ever deleted (Stripe keeps history).</summary>
public sealed class Table<T> where T : class, IStored
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
        }
    }
}

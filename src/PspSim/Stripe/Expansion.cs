using PspSim.Storage;

namespace PspSim.Stripe;

/// <summary>
/// Which fields of the object being written are expanded (expand[] paths checked by <see cref="Expander.Parse"/>, as a
/// tree of field names), and the store the expanded objects are read from at <see cref="Now"/>. The caller holds the
/// store lock while writing.
/// </summary>
public readonly struct Expansion
{
    private readonly PathTree? _paths;

    private Expansion(PathTree? paths, SimStore store, long now)
    {
        _paths = paths;
        Store = store;
        Now = now;
    }

    /// <summary>Nothing expanded: every reference is written as its id.</summary>
    public static Expansion None => default;

    public SimStore Store { get; }
    public long Now { get; }

    /// <summary>The paths of one object's request; on a list, each path starts with "data." (checked by Parse).</summary>
    public static Expansion Of(IReadOnlyList<string> paths, SimStore store, long now, bool isList = false)
    {
        if (paths.Count == 0) return new Expansion(null, store, now);
        var root = new PathTree();
        foreach (var path in paths)
        {
            var node = root;
            foreach (var segment in path.Split('.').AsSpan(isList ? 1 : 0)) node = node.Child(segment);
        }
        return new Expansion(root, store, now);
    }

    /// <summary>The expansion below <paramref name="field"/>, or null when the field is not expanded.</summary>
    public Expansion? Into(string field) =>
        _paths?.Find(field) is { } below ? new Expansion(below, Store, Now) : null;

    private sealed class PathTree
    {
        private Dictionary<string, PathTree>? _children;

        public PathTree Child(string field)
        {
            _children ??= new Dictionary<string, PathTree>(StringComparer.Ordinal);
            if (!_children.TryGetValue(field, out var child)) _children[field] = child = new PathTree();
            return child;
        }

        public PathTree? Find(string field) => _children?.GetValueOrDefault(field);
    }
}

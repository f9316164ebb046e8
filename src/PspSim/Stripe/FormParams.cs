using System.Globalization;
using System.Text;

namespace PspSim.Stripe;

/// <summary>
/// Stripe's form encoding (`a[b][c]=v`, `list[]=v`, `list[0]=v`) parsed into a tree. Lists are
/// children keyed "0", "1", ... so `expand[]` and Stripe.net's `expand[0]` read the same way.
/// </summary>
public sealed class FormNode
{
    public string? Value { get; private set; }
    public Dictionary<string, FormNode>? Children { get; private set; }

    public bool IsScalar => Children is null;

    internal FormNode Child(string key)
    {
        Children ??= new Dictionary<string, FormNode>(StringComparer.Ordinal);
        if (!Children.TryGetValue(key, out var node))
        {
            node = new FormNode();
            Children[key] = node;
        }
        return node;
    }

    internal void Set(string value) => Value = value;
}

public sealed class FormParams
{
    public const int MaxPairs = 1_000;
    public const int MaxDepth = 5;

    private readonly FormNode _root = new();

    /// <summary>Sorted decoded pairs: what an idempotency fingerprint compares.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Pairs { get; }

    private FormParams(List<KeyValuePair<string, string>> pairs)
    {
        Pairs = pairs.OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal).ToList();
        foreach (var (key, value) in pairs) Insert(key, value);
    }

    public static FormParams Empty { get; } = new([]);

    public static FormParams Parse(string encoded)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        if (string.IsNullOrEmpty(encoded)) return new FormParams(pairs);
        foreach (var part in encoded.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            if (pairs.Count >= MaxPairs) throw StripeApiException.Invalid($"Too many parameters (at most {MaxPairs}).");
            var eq = part.IndexOf('=');
            var key = Decode(eq < 0 ? part : part[..eq]);
            var value = eq < 0 ? "" : Decode(part[(eq + 1)..]);
            pairs.Add(new(key, value));
        }
        return new FormParams(pairs);
    }

    private static string Decode(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));

    private void Insert(string key, string value)
    {
        var segments = Segments(key);
        var node = _root;
        for (var i = 0; i < segments.Count; i++)
        {
            var seg = segments[i];
            if (seg.Length == 0) seg = (node.Children?.Count ?? 0).ToString(CultureInfo.InvariantCulture);
            node = node.Child(seg);
        }
        node.Set(value);
    }

    private static List<string> Segments(string key)
    {
        var bracket = key.IndexOf('[');
        if (bracket < 0) return [key];
        var segments = new List<string> { key[..bracket] };
        var rest = key[bracket..];
        while (rest.Length > 0)
        {
            var close = rest.IndexOf(']');
            if (rest[0] != '[' || close < 0) throw StripeApiException.Invalid($"Invalid parameter name: {key}", key);
            segments.Add(rest[1..close]);
            rest = rest[(close + 1)..];
            if (segments.Count > MaxDepth) throw StripeApiException.Invalid($"Parameter nested too deeply: {key}", key);
        }
        return segments;
    }

    public IEnumerable<string> Names => _root.Children?.Keys ?? Enumerable.Empty<string>();

    public bool Has(string name) => _root.Children?.ContainsKey(name) ?? false;

    public FormNode? Node(string name) => _root.Children is { } c && c.TryGetValue(name, out var n) ? n : null;

    /// <summary>
    /// Stripe rejects any name the endpoint does not document; pspsim also rejects, in the same shape, the documented
    /// names it does not model (<paramref name="unmodelled"/>), so nothing is silently ignored.
    /// </summary>
    public void AllowOnly(IReadOnlySet<string> allowed, IReadOnlySet<string>? unmodelled = null)
    {
        foreach (var name in Names)
        {
            if (allowed.Contains(name)) continue;
            var message = unmodelled?.Contains(name) == true
                ? $"Received unknown parameter: {name}. Stripe documents it, but pspsim does not model it (see pspsim's README)."
                : $"Received unknown parameter: {name}";
            throw new StripeApiException(400, "invalid_request_error", "parameter_unknown", message, name);
        }
    }

    public string? String(string name, int maxLength = 5_000)
    {
        var node = Node(name);
        if (node is null) return null;
        if (!node.IsScalar) throw StripeApiException.Invalid($"Invalid string: {name} must be a string", name);
        if (node.Value!.Length > maxLength) throw StripeApiException.Invalid($"Invalid string: {name} must be at most {maxLength} characters", name);
        return node.Value;
    }

    public long? Long(string name)
    {
        var s = String(name, 32);
        if (s is null) return null;
        if (!long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
            throw new StripeApiException(400, "invalid_request_error", "parameter_invalid_integer", $"Invalid integer: {s}", name);
        return v;
    }

    public bool? Bool(string name) => BoolOf(Node(name), name);

    public static bool? BoolOf(FormNode? node, string name)
    {
        if (node is null) return null;
        return node.Value switch
        {
            "true" when node.IsScalar => true,
            "false" when node.IsScalar => false,
            _ => throw StripeApiException.Invalid($"Invalid boolean: {node.Value}", name),
        };
    }

    public IReadOnlyList<string> List(string name, int maxItems = 100)
    {
        var node = Node(name);
        if (node is null) return [];
        if (node.IsScalar) return node.Value!.Length == 0 ? [] : [node.Value];
        var items = new List<(int Index, string Value)>();
        foreach (var (k, child) in node.Children!)
        {
            if (!int.TryParse(k, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || !child.IsScalar)
                throw StripeApiException.Invalid($"Invalid array: {name}", name);
            items.Add((index, child.Value!));
        }
        if (items.Count > maxItems) throw StripeApiException.Invalid($"Invalid array: {name} must have at most {maxItems} items", name);
        return items.OrderBy(i => i.Index).Select(i => i.Value).ToList();
    }

    /// <summary>A hash (sub-object) whose keys must be among <paramref name="allowed"/>.</summary>
    public IReadOnlyDictionary<string, FormNode> Hash(string name, IReadOnlySet<string> allowed)
    {
        var node = Node(name);
        if (node is null) return new Dictionary<string, FormNode>();
        if (node.IsScalar)
        {
            if (node.Value!.Length == 0) return new Dictionary<string, FormNode>();
            throw StripeApiException.Invalid($"Invalid object: {name}", name);
        }
        foreach (var key in node.Children!.Keys)
            if (!allowed.Contains(key))
                throw new StripeApiException(400, "invalid_request_error", "parameter_unknown", $"Received unknown parameter: {name}[{key}]", $"{name}[{key}]");
        return node.Children;
    }

    /// <summary>Stripe's metadata limits: 50 keys, key up to 40 characters, value up to 500.</summary>
    public Dictionary<string, string>? Metadata(string name = "metadata")
    {
        var node = Node(name);
        if (node is null) return null;
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node.IsScalar)
        {
            if (node.Value!.Length == 0) return result;
            throw StripeApiException.Invalid("Invalid object", name);
        }
        if (node.Children!.Count > 50) throw StripeApiException.Invalid("Metadata can have at most 50 keys.", name);
        foreach (var (k, v) in node.Children)
        {
            if (k.Length == 0 || k.Length > 40) throw StripeApiException.Invalid("Metadata keys must be 1 to 40 characters long.", $"{name}[{k}]");
            if (!v.IsScalar) throw StripeApiException.Invalid("Metadata values must be strings.", $"{name}[{k}]");
            if (v.Value!.Length > 500) throw StripeApiException.Invalid("Metadata values can have up to 500 characters.", $"{name}[{k}]");
            if (v.Value.Length > 0) result[k] = v.Value;
        }
        return result;
    }

    public static string Fingerprint(string method, string path, FormParams p)
    {
        var sb = new StringBuilder(method).Append(' ').Append(path);
        foreach (var (k, v) in p.Pairs) sb.Append('\n').Append(k).Append('=').Append(v);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }
}

using System.Text.Json.Nodes;
using PspSim.Storage;

namespace PspSim.Stripe;

/// <summary>Stripe's cursor pagination: newest first, limit 1..100 (default 10), starting_after / ending_before, created filters.</summary>
public sealed record ListQuery(int Limit, string? StartingAfter, string? EndingBefore, long? CreatedGt, long? CreatedGte, long? CreatedLt, long? CreatedLte)
{
    public static readonly IReadOnlySet<string> CommonParams = new HashSet<string> { "limit", "starting_after", "ending_before", "created", "expand" };
    private static readonly IReadOnlySet<string> CreatedKeys = new HashSet<string> { "gt", "gte", "lt", "lte" };

    public static ListQuery Parse(FormParams p)
    {
        var limit = p.Long("limit") ?? 10;
        if (limit is < 1 or > 100)
            throw StripeApiException.Invalid("This value must be greater than or equal to 1 and less than or equal to 100.", "limit");
        var startingAfter = p.String("starting_after", 255);
        var endingBefore = p.String("ending_before", 255);
        if (startingAfter is not null && endingBefore is not null)
            throw StripeApiException.Invalid("You may only specify one of these parameters: ending_before, starting_after.", "ending_before");
        long? gt = null, gte = null, lt = null, lte = null;
        var created = p.Node("created");
        if (created is { IsScalar: true })
        {
            gte = lte = p.Long("created");
        }
        else if (created is not null)
        {
            var h = p.Hash("created", CreatedKeys);
            gt = LongOf(h, "gt"); gte = LongOf(h, "gte"); lt = LongOf(h, "lt"); lte = LongOf(h, "lte");
        }
        return new ListQuery((int)limit, startingAfter, endingBefore, gt, gte, lt, lte);
    }

    private static long? LongOf(IReadOnlyDictionary<string, FormNode> h, string key)
    {
        if (!h.TryGetValue(key, out var node)) return null;
        if (!node.IsScalar || !long.TryParse(node.Value, out var v))
            throw new StripeApiException(400, "invalid_request_error", "parameter_invalid_integer", $"Invalid integer: {node.Value}", $"created[{key}]");
        return v;
    }

    /// <summary>The earliest creation time the created filter lets through (long.MinValue: no lower bound).</summary>
    private long CreatedAtLeast => Math.Max(CreatedGte ?? long.MinValue, CreatedGt is { } gt && gt < long.MaxValue ? gt + 1 : CreatedGt ?? long.MinValue);

    private bool CreatedMatches(long created) =>
        (CreatedGt is null || created > CreatedGt) && (CreatedGte is null || created >= CreatedGte) &&
        (CreatedLt is null || created < CreatedLt) && (CreatedLte is null || created <= CreatedLte);

    /// <summary>One page, newest first. A cursor that names no object of this kind is resource_missing, as in Stripe.</summary>
    public (List<T> Items, bool HasMore) Page<T>(Table<T> table, Func<T, bool>? filter = null) where T : class, IStored
    {
        bool Matches(T row) => CreatedMatches(row.Created) && (filter is null || filter(row));
        var items = new List<T>(Limit + 1);
        if (EndingBefore is not null)
        {
            if (!table.TryOldestFirstAfter(EndingBefore, out var newer)) throw StripeApiException.NoSuch("object", EndingBefore, "ending_before");
            foreach (var row in newer)
            {
                if (items.Count > Limit) break;
                if (Matches(row)) items.Add(row);
            }
            var hasMoreNewer = items.Count > Limit;
            if (hasMoreNewer) items.RemoveAt(items.Count - 1);
            items.Reverse();
            return (items, hasMoreNewer);
        }
        if (!table.TryNewestFirst(StartingAfter, CreatedAtLeast, out var older)) throw StripeApiException.NoSuch("object", StartingAfter!, "starting_after");
        foreach (var row in older)
        {
            if (items.Count > Limit) break;
            if (Matches(row)) items.Add(row);
        }
        var hasMore = items.Count > Limit;
        if (hasMore) items.RemoveAt(items.Count - 1);
        return (items, hasMore);
    }

    public static JsonObject Envelope(string url, IEnumerable<JsonObject> data, bool hasMore) => StripeJson.List(url, data, hasMore);
}

using System.Text;
using System.Text.Json.Nodes;
using PspSim.Api;
using PspSim.Storage;
using PspSim.Stripe;

namespace PspSim.PaymentIntents;

/// <summary>
/// What Stripe's search index knows of each PaymentIntent: the searchable fields of its recent writes, each with the
/// time it was written. Stripe documents that "data is searchable in under 1 minute" and that search must not be used
/// for read-after-write; a search here sees an intent as it was at its latest write older than
/// <see cref="PspSimOptions.SearchLagMs"/> (not at all before its creation is that old). Kept beside the store, under
/// its lock; not journaled: after a restart every replayed intent is searchable at once.
/// </summary>
public sealed class PaymentIntentSearchIndex
{
    /// <summary>Writes remembered per intent: more writes within one lag make the intent invisible until the lag passed.</summary>
    public const int MaxVersionsPerIntent = 8;

    private sealed record Version(long WrittenAtMs, string Status, string Currency, IReadOnlyDictionary<string, string> Metadata);

    private readonly Dictionary<string, List<Version>> _versions = new(StringComparer.Ordinal);

    /// <summary>Called by every save of an intent (under the store lock).</summary>
    public void Record(PaymentIntentState pi, long writtenAtMs)
    {
        if (!_versions.TryGetValue(pi.Id, out var versions)) _versions[pi.Id] = versions = new List<Version>(2);
        versions.Add(new Version(writtenAtMs, pi.Status, pi.Currency, new Dictionary<string, string>(pi.Metadata, StringComparer.Ordinal)));
        if (versions.Count > MaxVersionsPerIntent) versions.RemoveAt(0);
    }

    /// <summary>Forgets an intent the store evicted (retention), so the index is bounded like the store.</summary>
    public void Forget(string id) => _versions.Remove(id);

    /// <summary>Whether the intent as the index saw it at <paramref name="nowMs"/> − lag matches every clause.</summary>
    public bool Matches(string id, IReadOnlyList<SearchClause> clauses, long nowMs, long lagMs)
    {
        if (!_versions.TryGetValue(id, out var versions)) return false;
        for (var i = versions.Count - 1; i >= 0; i--)
        {
            var v = versions[i];
            if (v.WrittenAtMs + lagMs > nowMs) continue;
            // Older versions are kept only until a newer one is visible: the newest visible one is what the index holds.
            if (i > 0) versions.RemoveRange(0, i);
            return clauses.All(c => c.Field switch
            {
                "status" => v.Status == c.Value,
                "currency" => v.Currency == c.Value,
                _ => v.Metadata.TryGetValue(c.MetadataKey!, out var value) && value == c.Value,
            });
        }
        return false;
    }
}

/// <summary>One <c>field:'value'</c> clause of a query (exact match); <see cref="MetadataKey"/> set for <c>metadata['key']</c>.</summary>
public sealed record SearchClause(string Field, string? MetadataKey, string Value);

/// <summary>
/// The subset of Stripe's search query language pspsim models: clauses <c>status:'…'</c>, <c>currency:'…'</c>,
/// <c>metadata['key']:'value'</c> (single or double quotes, backslash escapes the quote), joined by <c>AND</c>.
/// Everything else Stripe's language has (OR, negation, ~, ranges, other fields) is refused with a 400 naming the
/// query, never read as something else.
/// </summary>
public static class SearchQuery
{
    public const int MaxQueryLength = 10_000;
    public const int MaxClauses = 10;
    private static readonly HashSet<string> Fields = ["status", "currency", "metadata"];

    public static IReadOnlyList<SearchClause> Parse(string query)
    {
        if (query.Length > MaxQueryLength) throw Invalid($"a query is at most {MaxQueryLength} characters");
        var clauses = new List<SearchClause>();
        var at = 0;
        while (true)
        {
            SkipSpaces(query, ref at);
            clauses.Add(Clause(query, ref at));
            if (clauses.Count > MaxClauses) throw Invalid($"at most {MaxClauses} clauses are supported");
            SkipSpaces(query, ref at);
            if (at == query.Length) return clauses;
            if (string.CompareOrdinal(query, at, "AND ", 0, 4) != 0)
                throw Invalid($"expected AND at position {at} (pspsim supports AND of exact-match clauses only)");
            at += 4;
        }
    }

    private static SearchClause Clause(string q, ref int at)
    {
        var start = at;
        while (at < q.Length && (char.IsAsciiLetterLower(q[at]) || q[at] == '_')) at++;
        var field = q[start..at];
        if (!Fields.Contains(field)) throw Invalid(field.Length == 0 ? $"expected a field at position {start}" : $"unsupported field '{field}'");
        string? key = null;
        if (field == "metadata")
        {
            Expect(q, ref at, '[');
            key = Quoted(q, ref at);
            Expect(q, ref at, ']');
        }
        Expect(q, ref at, ':');
        var value = Quoted(q, ref at);
        return new SearchClause(field, key, value);
    }

    private static string Quoted(string q, ref int at)
    {
        if (at >= q.Length || q[at] is not ('\'' or '"')) throw Invalid($"expected a quoted string at position {at}");
        var quote = q[at++];
        var value = new StringBuilder();
        while (at < q.Length && q[at] != quote)
        {
            if (q[at] == '\\' && at + 1 < q.Length) at++;
            value.Append(q[at++]);
        }
        if (at >= q.Length) throw Invalid("unterminated string");
        at++;
        return value.ToString();
    }

    private static void Expect(string q, ref int at, char c)
    {
        if (at >= q.Length || q[at] != c) throw Invalid($"expected '{c}' at position {at}");
        at++;
    }

    private static void SkipSpaces(string q, ref int at)
    {
        while (at < q.Length && q[at] == ' ') at++;
    }

    private static StripeApiException Invalid(string why) =>
        StripeApiException.Invalid($"Invalid search query: {why}. See https://stripe.com/docs/search#search-query-language.", "query");
}

/// <summary>GET /v1/payment_intents/search: Stripe's search_result page (newest first, opaque next_page cursor).</summary>
public static class PaymentIntentSearch
{
    private static readonly HashSet<string> Params = ["query", "limit", "page"];

    public static ApiResult Search(ApiRequest r)
    {
        r.Params.AllowOnly(Params);
        var query = r.Params.String("query", SearchQuery.MaxQueryLength + 1) ?? throw StripeApiException.Missing("query");
        var clauses = SearchQuery.Parse(query);
        var limit = r.Params.Long("limit") ?? 10;
        if (limit is < 1 or > 100)
            throw StripeApiException.Invalid("This value must be greater than or equal to 1 and less than or equal to 100.", "limit");
        var page = r.Params.String("page", 255);
        var lagMs = r.Options.SearchLagMs;
        return r.Store.Read(s =>
        {
            var after = page is null ? null : PageCursor(page);
            if ((page is not null && after is null) || !s.PaymentIntents.TryNewestFirst(after, out var older))
                throw StripeApiException.Invalid("Invalid page: not a page this search returned.", "page");
            var nowMs = s.NowMs();
            var found = new List<PaymentIntentState>((int)limit + 1);
            foreach (var pi in older)
            {
                if (found.Count > limit) break;
                if (s.PaymentIntentSearch.Matches(pi.Id, clauses, nowMs, lagMs)) found.Add(pi);
            }
            var hasMore = found.Count > limit;
            if (hasMore) found.RemoveAt(found.Count - 1);
            return ApiResult.Ok(new JsonObject
            {
                ["object"] = "search_result",
                ["data"] = new JsonArray(found.Select(pi => (JsonNode?)StripeJson.PaymentIntent(pi)).ToArray()),
                ["has_more"] = hasMore,
                ["next_page"] = hasMore ? Convert.ToBase64String(Encoding.UTF8.GetBytes(found[^1].Id)) : null,
                ["url"] = "/v1/payment_intents/search",
            });
        });
    }

    private static string? PageCursor(string page)
    {
        try { return Encoding.UTF8.GetString(Convert.FromBase64String(page)); }
        catch (FormatException) { return null; }
    }
}

using PspSim.Api;
using PspSim.Stripe;

namespace PspSim.Events;

/// <summary>/v1/events: every state change, newest first; `type` accepts Stripe's `*` wildcard suffix.</summary>
public static class EventEndpoints
{
    private static readonly HashSet<string> ListParams = [.. ListQuery.CommonParams, "type", "types", "delivery_success"];
    private static readonly HashSet<string> RetrieveParams = ["expand"];

    public static ApiResult Retrieve(ApiRequest r, string id)
    {
        r.Params.AllowOnly(RetrieveParams);
        Expander.Parse(r.Params, "event");
        return r.Store.Read(s => ApiResult.Ok(StripeJson.Event(s.Events.Find(id) ?? throw StripeApiException.NoSuch("event", id))));
    }

    public static ApiResult List(ApiRequest r)
    {
        r.Params.AllowOnly(ListParams);
        var q = ListQuery.Parse(r.Params);
        Expander.Parse(r.Params, "event", isList: true);
        var type = r.Params.String("type", 100);
        var types = r.Params.List("types", 20);
        if (type is not null && types.Count > 0)
            throw StripeApiException.Invalid("You may only specify one of these parameters: type, types.", "types");
        var wanted = type is null ? types : [type];
        return r.Store.Read(s =>
        {
            var (items, hasMore) = q.Page(s.Events, e => wanted.Count == 0 || wanted.Any(w => TypeMatches(w, e.Type)));
            return ApiResult.Ok(ListQuery.Envelope("/v1/events", items.Select(StripeJson.Event), hasMore));
        });
    }

    private static bool TypeMatches(string pattern, string type) =>
        pattern.EndsWith('*') ? type.StartsWith(pattern[..^1], StringComparison.Ordinal) : pattern == type;
}

using System.Text.RegularExpressions;
using System.Text.Json.Nodes;
using PspSim.Api;
using PspSim.Stripe;

namespace PspSim.Webhooks;

/// <summary>
/// /v1/webhook_endpoints: create (answers the whsec_ secret once, as Stripe), list, retrieve, update, delete, and
/// roll_secret (the old secret keeps signing until `expiration`, by default PspSim:WebhookSecretOverlapSeconds).
/// </summary>
public static partial class WebhookEndpoints
{
    private const int MaxUrlLength = 2_048;
    private const int MaxEnabledEvents = 100;
    private static readonly HashSet<string> CreateParams = ["api_version", "description", "enabled_events", "expand", "metadata", "url"];
    private static readonly HashSet<string> CreateUnmodelled = ["connect"];
    private static readonly HashSet<string> UpdateParams = ["description", "disabled", "enabled_events", "expand", "metadata", "url"];
    private static readonly HashSet<string> RollParams = ["expiration"];
    private static readonly HashSet<string> ReadParams = ["expand"];
    private static readonly HashSet<string> NoParams = [];
    private static readonly HashSet<string> ListParams = [.. ListQuery.CommonParams];

    [GeneratedRegex("^[a-z_]+(\\.[a-z_]+)+$")]
    private static partial Regex EventTypePattern();

    public static ApiResult Create(ApiRequest r)
    {
        var p = r.Params;
        p.AllowOnly(CreateParams, CreateUnmodelled);
        var url = ValidUrl(p.String("url", MaxUrlLength) ?? throw StripeApiException.Missing("url"));
        var events = ValidEnabledEvents(p, required: true)!;
        var description = p.String("description", 5_000);
        var metadata = p.Metadata() ?? [];
        // Events are rendered in the one version pspsim speaks; asking for another would be silently ignored.
        if (p.String("api_version", 64) is { } version && version != StripeJson.ApiVersion)
            throw StripeApiException.Invalid($"pspsim renders events in API version {StripeJson.ApiVersion} only.", "api_version");
        return r.Store.Write(r.Info, tx =>
        {
            if (tx.Store.WebhookEndpoints.Count >= WebhookEndpointState.MaxEndpoints)
                throw StripeApiException.Invalid($"You have reached the maximum of {WebhookEndpointState.MaxEndpoints} test webhook endpoints.", "url");
            var endpoint = new WebhookEndpointState
            {
                Id = Ids.New("we"), Created = tx.Now, Url = url, EnabledEvents = [.. events], Description = description,
                Metadata = metadata, Secret = WebhookEndpointState.NewSecret(),
            };
            tx.Save(endpoint);
            return ApiResult.Ok(endpoint.ToJson(withSecret: true));
        });
    }

    public static ApiResult List(ApiRequest r)
    {
        r.Params.AllowOnly(ListParams);
        var q = ListQuery.Parse(r.Params);
        return r.Store.Read(s =>
        {
            var (items, hasMore) = q.Page(s.WebhookEndpoints);
            return ApiResult.Ok(ListQuery.Envelope("/v1/webhook_endpoints", items.Select(e => e.ToJson(withSecret: false)), hasMore));
        });
    }

    public static ApiResult Retrieve(ApiRequest r, string id)
    {
        r.Params.AllowOnly(ReadParams);
        return r.Store.Read(s => ApiResult.Ok(Find(s, id).ToJson(withSecret: false)));
    }

    public static ApiResult Update(ApiRequest r, string id)
    {
        var p = r.Params;
        p.AllowOnly(UpdateParams);
        var url = p.String("url", MaxUrlLength) is { } u ? ValidUrl(u) : null;
        var events = ValidEnabledEvents(p, required: false);
        var description = p.String("description", 5_000);
        var metadata = p.Metadata();
        var disabled = p.Bool("disabled");
        return r.Store.Write(r.Info, tx =>
        {
            var endpoint = Find(tx.Store, id);
            if (url is not null) endpoint.Url = url;
            if (events is not null) endpoint.EnabledEvents = [.. events];
            if (description is not null) endpoint.Description = description;
            if (metadata is not null) foreach (var (k, v) in metadata) endpoint.Metadata[k] = v;
            if (disabled is { } d) endpoint.Status = d ? WebhookEndpointState.Disabled : WebhookEndpointState.Enabled;
            tx.Save(endpoint);
            return ApiResult.Ok(endpoint.ToJson(withSecret: false));
        });
    }

    public static ApiResult Delete(ApiRequest r, string id)
    {
        r.Params.AllowOnly(NoParams);
        return r.Store.Write(r.Info, tx =>
        {
            tx.Delete(Find(tx.Store, id));
            return ApiResult.Ok(new JsonObject { ["id"] = id, ["object"] = "webhook_endpoint", ["deleted"] = true });
        });
    }

    /// <summary>
    /// A new secret signs from now on; the old one also signs until `expiration` (a unix time at most 7 days ahead, a past
    /// one ends the overlap at once; default now + PspSim:WebhookSecretOverlapSeconds), so receivers can switch without a gap.
    /// </summary>
    public static ApiResult RollSecret(ApiRequest r, string id)
    {
        r.Params.AllowOnly(RollParams);
        var expiration = r.Params.Long("expiration");
        return r.Store.Write(r.Info, tx =>
        {
            var endpoint = Find(tx.Store, id);
            // A time already past (or now) ends the old secret at once.
            var expiresAt = Math.Max(tx.Now, expiration ?? tx.Now + r.Options.WebhookSecretOverlapSeconds);
            if (expiration is < 0 || expiresAt > tx.Now + PspSimOptions.MaxWebhookSecretOverlapSeconds)
                throw StripeApiException.Invalid("expiration must be a unix time at most 7 days ahead.", "expiration");
            endpoint.PreviousSecret = endpoint.Secret;
            endpoint.PreviousSecretExpiresAt = expiresAt;
            endpoint.Secret = WebhookEndpointState.NewSecret();
            tx.Save(endpoint);
            return ApiResult.Ok(endpoint.ToJson(withSecret: true));
        });
    }

    private static WebhookEndpointState Find(Storage.SimStore store, string id) =>
        store.WebhookEndpoints.Find(id) ?? throw StripeApiException.NoSuch("webhook_endpoint", id, "id");

    /// <summary>An absolute http(s) URL (Stripe requires https in live mode; test mode and this sandbox take http).</summary>
    private static string ValidUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw StripeApiException.Invalid("Invalid URL: must be an absolute http or https URL.", "url", "url_invalid");
        return url;
    }

    /// <summary>enabled_events[]: "*" or event type names (pspsim accepts any well-formed name; it emits the ones its README lists).</summary>
    private static IReadOnlyList<string>? ValidEnabledEvents(FormParams p, bool required)
    {
        if (!p.Has("enabled_events")) return required ? throw StripeApiException.Missing("enabled_events") : null;
        var events = p.List("enabled_events", MaxEnabledEvents);
        if (events.Count == 0) throw StripeApiException.Invalid("enabled_events must list at least one event type or *.", "enabled_events");
        for (var i = 0; i < events.Count; i++)
            if (events[i] != "*" && (events[i].Length > 100 || !EventTypePattern().IsMatch(events[i])))
                throw StripeApiException.Invalid($"Invalid enabled_events[{i}]: must be * or an event type such as payment_intent.succeeded.", $"enabled_events[{i}]");
        return events.Distinct(StringComparer.Ordinal).ToList();
    }
}

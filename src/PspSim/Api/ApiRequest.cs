using System.Text.Json.Nodes;
using PspSim.Storage;
using PspSim.Stripe;

namespace PspSim.Api;

/// <summary>One parsed /v1 request, handed to an endpoint.</summary>
public sealed class ApiRequest
{
    public required string Method { get; init; }
    /// <summary>Path segments after /v1, e.g. ["payment_intents", "pi_123", "capture"].</summary>
    public required string[] Segments { get; init; }
    public required FormParams Params { get; init; }
    public required RequestInfo Info { get; init; }
    public required SimStore Store { get; init; }
    public required PspSimOptions Options { get; init; }
    /// <summary>Where this sandbox is reachable (for next_action URLs).</summary>
    public required string BaseUrl { get; init; }

    public string Path => "/v1/" + string.Join('/', Segments);
}

/// <summary>An answer: HTTP status + Stripe JSON body.</summary>
public sealed record ApiResult(int Status, JsonObject Body)
{
    /// <summary>Whether Stripe would store this answer under an idempotency key (false for validation failures).</summary>
    public bool Executed { get; init; } = true;

    private string? _json;
    /// <summary>The body as sent (and as stored under an idempotency key): serialized once.</summary>
    public string Json => _json ??= Body.ToJsonString();

    public static ApiResult Ok(JsonObject body) => new(200, body);

    public static ApiResult Error(StripeApiException e) => new(e.Status, e.Body()) { Executed = e.Executed };
}

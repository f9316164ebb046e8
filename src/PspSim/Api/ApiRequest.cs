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

/// <summary>
/// An answer: HTTP status + Stripe JSON body, held either as a tree (answers an endpoint still edits, e.g. expand[] on a
/// write) or as the bytes <see cref="StripeWriter"/> wrote (what goes on the wire without a tree or a string).
/// </summary>
public sealed class ApiResult
{
    private JsonObject? _body;
    private string? _json;
    private PooledJson? _utf8;

    public ApiResult(int status, JsonObject body)
    {
        Status = status;
        _body = body;
    }

    private ApiResult(int status, PooledJson utf8)
    {
        Status = status;
        _utf8 = utf8;
    }

    public int Status { get; }

    /// <summary>Whether Stripe would store this answer under an idempotency key (false for validation failures).</summary>
    public bool Executed { get; init; } = true;

    /// <summary>The body as a tree (read back from the written bytes when the answer was written without one).</summary>
    public JsonObject Body => _body ??= JsonNode.Parse(Utf8.Span)!.AsObject();

    /// <summary>The body as sent (and as stored under an idempotency key): serialized once.</summary>
    public string Json => _json ??= _utf8 is not null ? System.Text.Encoding.UTF8.GetString(_utf8.Written.Span) : _body!.ToJsonString();

    /// <summary>The body as UTF-8, as sent.</summary>
    public ReadOnlyMemory<byte> Utf8 => (_utf8 ??= PooledJson.Write(w => _body!.WriteTo(w))).Written;

    public static ApiResult Ok(JsonObject body) => new(200, body);

    /// <summary>A 200 written by <paramref name="write"/> (the caller holds the store lock if it reads the store).</summary>
    public static ApiResult Ok(Action<System.Text.Json.Utf8JsonWriter> write) => new(200, PooledJson.Write(write));

    public static ApiResult Error(StripeApiException e) => new(e.Status, e.Body()) { Executed = e.Executed };

    /// <summary>Gives a written body's buffer back to the pool; call once the answer is on the wire, never before.</summary>
    public void Release()
    {
        _utf8?.Dispose();
    }
}

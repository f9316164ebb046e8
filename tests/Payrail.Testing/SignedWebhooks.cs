using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Payrail.Testing;

/// <summary>What a receiver answered one delivery.</summary>
public sealed record WebhookDelivery(int Status, string Body)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;
    public string? Outcome => Json.TryGetProperty("outcome", out var outcome) ? outcome.GetString() : null;
    public string? ProblemType => Json.TryGetProperty("type", out var type) ? type.GetString() : null;
}

/// <summary>
/// Delivers pspsim's own events to a webhook receiver, signed as Stripe signs them:
/// <c>Stripe-Signature: t=&lt;unix&gt;,v1=hex(HMAC-SHA256(secret, "{t}.{body}"))</c>, one <c>v1</c> per secret. The bodies
/// are exactly what pspsim's <c>GET /v1/events/{id}</c> returns. This is the one place tests deliver webhooks, so it can
/// give way to pspsim's own delivery without touching them.
/// </summary>
public sealed class SignedWebhooks(PspSimFixture pspSim, string receiverUrl, string secret) : IDisposable
{
    /// <summary>pspsim pages of 100: a test's payments have a handful of events each.</summary>
    private const int MaxPages = 50;

    private readonly HttpClient _psp = PspClient(pspSim);
    private readonly HttpClient _receiver = new() { Timeout = TimeSpan.FromSeconds(30) };

    public string Secret { get; } = secret;

    /// <summary>
    /// pspsim's events about one PaymentIntent (its own events, its charges' and refunds'), oldest first, as
    /// <c>GET /v1/events/{id}</c> returns each.
    /// </summary>
    public async Task<IReadOnlyList<string>> EventsForAsync(string paymentIntentId)
    {
        var ids = new List<string>();
        string? startingAfter = null;
        for (var page = 0; page < MaxPages; page++)
        {
            var url = "/v1/events?limit=100" + (startingAfter is null ? "" : "&starting_after=" + startingAfter);
            using var list = JsonDocument.Parse(await _psp.GetStringAsync(url));
            foreach (var e in list.RootElement.GetProperty("data").EnumerateArray())
            {
                startingAfter = e.GetProperty("id").GetString();
                if (IsAbout(e.GetProperty("data").GetProperty("object"), paymentIntentId)) ids.Add(startingAfter!);
            }
            if (!list.RootElement.GetProperty("has_more").GetBoolean()) break;
        }
        ids.Reverse(); // pspsim lists newest first
        var bodies = new List<string>(ids.Count);
        foreach (var id in ids) bodies.Add(await _psp.GetStringAsync("/v1/events/" + id));
        return bodies;
    }

    /// <summary>The one event of <paramref name="type"/> about the PaymentIntent.</summary>
    public async Task<string> EventAsync(string paymentIntentId, string type) =>
        (await EventsForAsync(paymentIntentId)).Single(body => TypeOf(body) == type);

    public static string TypeOf(string eventBody) => JsonDocument.Parse(eventBody).RootElement.GetProperty("type").GetString()!;

    public static string IdOf(string eventBody) => JsonDocument.Parse(eventBody).RootElement.GetProperty("id").GetString()!;

    /// <summary>POSTs the body signed now (or at <paramref name="signedAt"/>) with this helper's secret, or with <paramref name="secrets"/>.</summary>
    public Task<WebhookDelivery> DeliverAsync(string body, DateTimeOffset? signedAt = null, params string[] secrets) =>
        PostAsync(body, Signature(body, signedAt ?? DateTimeOffset.UtcNow, secrets.Length > 0 ? secrets : [Secret]));

    /// <summary>POSTs the body with the given header as is (null: no header).</summary>
    public async Task<WebhookDelivery> PostAsync(string body, string? signatureHeader)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, receiverUrl)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (signatureHeader is not null) request.Headers.TryAddWithoutValidation("Stripe-Signature", signatureHeader);
        using var response = await _receiver.SendAsync(request);
        return new WebhookDelivery((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Stripe's header: <c>t=&lt;unix&gt;</c>, then one <c>v1</c> per secret (two during a secret roll).</summary>
    public static string Signature(string body, DateTimeOffset at, params string[] secrets)
    {
        var t = at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signed = Encoding.UTF8.GetBytes($"{t}.{body}");
        return $"t={t}," + string.Join(',', secrets.Select(s => "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(s), signed))));
    }

    private static bool IsAbout(JsonElement o, string paymentIntentId) =>
        Text(o, "id") == paymentIntentId || Text(o, "payment_intent") == paymentIntentId;

    private static string? Text(JsonElement o, string name) =>
        o.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static HttpClient PspClient(PspSimFixture pspSim)
    {
        var http = new HttpClient { BaseAddress = new Uri(pspSim.BaseUrl), Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", pspSim.ApiKey);
        return http;
    }

    public void Dispose()
    {
        _psp.Dispose();
        _receiver.Dispose();
    }
}

using System.Security.Cryptography;
using System.Text.Json.Nodes;
using PspSim.Events;
using PspSim.Storage;

namespace PspSim.Webhooks;

/// <summary>A Stripe webhook endpoint: where events of the enabled types are POSTed, signed with its secret.</summary>
public sealed class WebhookEndpointState : IStored
{
    /// <summary>Stripe allows 16 webhook endpoints per account.</summary>
    public const int MaxEndpoints = 16;
    public const string Enabled = "enabled";
    public const string Disabled = "disabled";

    public required string Id { get; init; }
    public required long Created { get; init; }
    public required string Url { get; set; }
    /// <summary>Event types, or "*" for all (Stripe's only wildcard here).</summary>
    public required List<string> EnabledEvents { get; set; }
    public string? Description { get; set; }
    public Dictionary<string, string> Metadata { get; set; } = [];
    public string Status { get; set; } = Enabled;
    /// <summary>The whsec_ signing secret (answered on create and roll_secret only, as at Stripe).</summary>
    public required string Secret { get; set; }
    /// <summary>After roll_secret: the old secret, which also signs until <see cref="PreviousSecretExpiresAt"/> (sim clock).</summary>
    public string? PreviousSecret { get; set; }
    public long? PreviousSecretExpiresAt { get; set; }
    /// <summary>True only on the journal's tombstone line of a deleted endpoint.</summary>
    public bool Deleted { get; set; }

    public bool Wants(string eventType) =>
        Status == Enabled && EnabledEvents.Exists(e => e == "*" || e == eventType);

    /// <summary>The secrets signing a delivery at <paramref name="now"/>: the current one, and the old one during a roll.</summary>
    public IReadOnlyList<string> SigningSecrets(long now) =>
        PreviousSecret is { } old && PreviousSecretExpiresAt > now ? [Secret, old] : [Secret];

    /// <summary>Stripe's secrets: whsec_ and 32 random characters.</summary>
    public static string NewSecret() =>
        "whsec_" + RandomNumberGenerator.GetString("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 32);

    /// <summary>Stripe's webhook_endpoint object; the secret only when <paramref name="withSecret"/> (create, roll).</summary>
    public JsonObject ToJson(bool withSecret)
    {
        var o = new JsonObject
        {
            ["id"] = Id,
            ["object"] = "webhook_endpoint",
            ["api_version"] = null,
            ["application"] = null,
            ["created"] = Created,
            ["description"] = Description,
            ["enabled_events"] = new JsonArray(EnabledEvents.Select(e => (JsonNode?)JsonValue.Create(e)).ToArray()),
            ["livemode"] = false,
            ["metadata"] = new JsonObject(Metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
            ["status"] = Status,
            ["url"] = Url,
        };
        if (withSecret) o["secret"] = Secret;
        return o;
    }
}

/// <summary>One event to deliver to one endpoint, decided when the event was committed.</summary>
public sealed record PendingDelivery(EventState Event, string EndpointId);

/// <summary>Takes committed deliveries off the request path (<see cref="WebhookDelivery"/>).</summary>
public interface IWebhookSink
{
    /// <summary>Never blocks: called right after a write, outside the store lock.</summary>
    void Enqueue(IReadOnlyList<PendingDelivery> deliveries);
}

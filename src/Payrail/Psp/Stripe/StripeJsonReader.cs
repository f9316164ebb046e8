using System.Globalization;
using System.Text.Json;
using Stripe;

namespace Payrail.Psp.Stripe;

/// <summary>
/// A webhook event's body, or a PaymentIntent answered to a create, read with System.Text.Json into Stripe.net's own
/// types, only the fields Payrail maps (<see cref="StripeMapping"/> then reads them exactly as it reads a full object).
/// Stripe.net builds the whole tree through Newtonsoft: ≈54 KB per webhook event (<see cref="EventUtility.ParseEvent(string, bool)"/>
/// with its signature check) and ≈90 KB per create answer with its expanded charge, most of the API's allocations per
/// payment (issue 8's measurement); this reads one <see cref="JsonDocument"/> over pooled memory. An event's object of
/// another type is left out, as the receiver ignores it. Throws <see cref="JsonException"/>,
/// <see cref="InvalidOperationException"/>, <see cref="FormatException"/> or <see cref="OverflowException"/> on a body
/// that is not of the expected shape.
/// </summary>
internal static class StripeJsonReader
{
    /// <summary>A body nested deeper than any Stripe event is not read (Stripe's objects nest a handful of levels).</summary>
    private const int MaxDepth = 32;

    private static readonly JsonDocumentOptions Options = new() { MaxDepth = MaxDepth };

    public sealed record ReadEvent(string? Id, string? Type, DateTime Created, IHasObject? Object);

    /// <summary>A PaymentIntent object (the answer to a create, a capture, a retrieve).</summary>
    public static PaymentIntent PaymentIntent(string json)
    {
        using var document = JsonDocument.Parse(json, Options);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || String(root, "object") != "payment_intent")
            throw new JsonException("not a payment_intent object");
        return PaymentIntent(root);
    }

    public static ReadEvent Event(string body)
    {
        using var document = JsonDocument.Parse(body, Options);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new JsonException("an event is a JSON object");
        var data = Property(root, "data") is { ValueKind: JsonValueKind.Object } d ? Property(d, "object") : null;
        return new ReadEvent(String(root, "id"), String(root, "type"), Unix(root, "created"),
            data is { ValueKind: JsonValueKind.Object } o ? Object(o) : null);
    }

    private static IHasObject? Object(JsonElement o) => String(o, "object") switch
    {
        "payment_intent" => PaymentIntent(o),
        "charge" => Charge(o),
        "refund" => Refund(o),
        _ => null,
    };

    private static PaymentIntent PaymentIntent(JsonElement o)
    {
        var intent = new PaymentIntent
        {
            Id = String(o, "id"),
            Amount = Long(o, "amount"),
            AmountCapturable = Long(o, "amount_capturable"),
            AmountReceived = Long(o, "amount_received"),
            Currency = String(o, "currency"),
            Status = String(o, "status"),
            Created = Unix(o, "created"),
            Metadata = Metadata(o),
        };
        if (Property(o, "last_payment_error") is { ValueKind: JsonValueKind.Object } error)
            intent.LastPaymentError = new StripeError { Code = String(error, "code"), DeclineCode = String(error, "decline_code"), Message = String(error, "message") };
        switch (Property(o, "latest_charge"))
        {
            case { ValueKind: JsonValueKind.String } id:
                intent.LatestChargeId = id.GetString();
                break;
            case { ValueKind: JsonValueKind.Object } expanded:
                intent.LatestCharge = new Charge
                {
                    Id = String(expanded, "id"), AmountCaptured = Long(expanded, "amount_captured"), AmountRefunded = Long(expanded, "amount_refunded"),
                };
                break;
        }
        if (Property(o, "next_action") is { ValueKind: JsonValueKind.Object } next)
        {
            intent.NextAction = new PaymentIntentNextAction { Type = String(next, "type") };
            if (Property(next, "redirect_to_url") is { ValueKind: JsonValueKind.Object } redirect)
                intent.NextAction.RedirectToUrl = new PaymentIntentNextActionRedirectToUrl { Url = String(redirect, "url") };
        }
        return intent;
    }

    private static Charge Charge(JsonElement o) => new()
    {
        Id = String(o, "id"), PaymentIntentId = ExpandableId(o, "payment_intent"), Metadata = Metadata(o),
    };

    private static Refund Refund(JsonElement o) => new()
    {
        Id = String(o, "id"),
        PaymentIntentId = ExpandableId(o, "payment_intent"),
        Amount = Long(o, "amount"),
        Currency = String(o, "currency"),
        Status = String(o, "status"),
        Created = Unix(o, "created"),
        FailureReason = String(o, "failure_reason"),
        Metadata = Metadata(o),
    };

    private static JsonElement? Property(JsonElement o, string name) => o.TryGetProperty(name, out var value) ? value : null;

    /// <summary>A string field; absent or null is null; another kind is not the shape of a Stripe object.</summary>
    private static string? String(JsonElement o, string name) => Property(o, name) switch
    {
        null or { ValueKind: JsonValueKind.Null } => null,
        { } value => value.GetString(),
    };

    /// <summary>An integer amount (Stripe's unit); absent or null is 0, as Stripe.net leaves it. A fraction throws.</summary>
    private static long Long(JsonElement o, string name) => Property(o, name) switch
    {
        null or { ValueKind: JsonValueKind.Null } => 0,
        { } value => value.GetInt64(),
    };

    /// <summary>Unix seconds, as Stripe.net's converter reads them; absent or null is the epoch, Stripe.net's default.</summary>
    private static DateTime Unix(JsonElement o, string name) => Property(o, name) switch
    {
        null or { ValueKind: JsonValueKind.Null } => DateTime.UnixEpoch,
        { } value => DateTimeOffset.FromUnixTimeSeconds(value.GetInt64()).UtcDateTime,
    };

    /// <summary>An expandable reference: the id as sent, or the id of the expanded object.</summary>
    private static string? ExpandableId(JsonElement o, string name) => Property(o, name) switch
    {
        { ValueKind: JsonValueKind.Object } expanded => String(expanded, "id"),
        _ => String(o, name),
    };

    /// <summary>Metadata values are strings at Stripe; a number or boolean is kept as its JSON text, as Stripe.net would.</summary>
    private static Dictionary<string, string>? Metadata(JsonElement o)
    {
        if (Property(o, "metadata") is not { ValueKind: JsonValueKind.Object } metadata) return null;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in metadata.EnumerateObject())
        {
            values[entry.Name] = entry.Value.ValueKind switch
            {
                JsonValueKind.String => entry.Value.GetString()!,
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => entry.Value.GetRawText(),
                _ => throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"metadata value of kind {entry.Value.ValueKind}")),
            };
        }
        return values;
    }
}

using System.Collections.Frozen;
using System.Text.Json;
using Payrail.Api;
using Payrail.Domain.Validation;

namespace Payrail.Payments;

/// <summary>The two operations that consume an authorization (issue 11): one final capture, or a void.</summary>
public enum PaymentOperationKind
{
    Capture,
    Void,
}

/// <summary>
/// A validated <c>POST /v1/payments/{id}/capture</c> or <c>/void</c>: the payment, and for a capture the amount asked
/// (null: all that was authorized), for a void Stripe's cancellation reason (null: none given).
/// </summary>
public sealed record PaymentOperationRequest(PaymentOperationKind Kind, Guid PaymentId, long? AmountMinor, string? Reason)
{
    /// <summary>Stripe's <c>cancellation_reason</c> values a merchant may give (Stripe sets <c>automatic</c> itself, on expiry).</summary>
    public static readonly FrozenSet<string> CancellationReasons =
        new[] { "duplicate", "fraudulent", "requested_by_customer", "abandoned" }.ToFrozenSet(StringComparer.Ordinal);

    private const int MaxJsonDepth = 4;

    public string KindWire => Kind == PaymentOperationKind.Capture ? "capture" : "void";

    /// <summary>
    /// Fixed fields in a fixed order, the payment included: the same key sent for another payment, another amount or
    /// another reason is another request (422), whatever the body's whitespace or field order.
    /// </summary>
    public byte[] ToCanonicalJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("operation", KindWire);
            json.WriteString("payment_id", PaymentId);
            if (AmountMinor is { } amount) json.WriteNumber("amount", amount);
            else json.WriteNull("amount");
            if (Reason is null) json.WriteNull("reason");
            else json.WriteString("reason", Reason);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// The body (empty: every field defaulted) of a capture (<c>amount</c>) or a void (<c>reason</c>). Zero, negative or
    /// non-integer amounts, unknown reasons, unknown fields and anything that looks like a card number are refused (400).
    /// Whether the amount fits the authorization is the payment's state, decided under the idempotency gate (409).
    /// </summary>
    public static bool TryParse(PaymentOperationKind kind, Guid paymentId, ReadOnlyMemory<byte> body,
        out PaymentOperationRequest? request, out RequestRejection? rejection)
    {
        request = null;
        rejection = null;
        if (IsBlank(body.Span))
        {
            request = new PaymentOperationRequest(kind, paymentId, null, null);
            return true;
        }
        if (CardNumberDetector.ContainsCardNumber(System.Text.Encoding.UTF8.GetString(body.Span)))
        {
            rejection = PaymentRequestParser.CardNumberRefusal;
            return false;
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
        }
        catch (JsonException)
        {
            rejection = Invalid(Problems.InvalidJson, "Malformed JSON", "The body is not valid JSON.");
            return false;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                rejection = Invalid(Problems.InvalidJson, "Malformed JSON", "The body must be a JSON object.");
                return false;
            }
            var known = kind == PaymentOperationKind.Capture ? "amount" : "reason";
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == known) continue;
                rejection = Invalid(Problems.InvalidRequest, "Invalid request", "The body has a field this operation does not take.",
                    "body", $"may only hold {known}");
                return false;
            }
            return kind == PaymentOperationKind.Capture
                ? TryAmount(root, paymentId, out request, out rejection)
                : TryReason(root, paymentId, out request, out rejection);
        }
    }

    private static bool TryAmount(JsonElement root, Guid paymentId, out PaymentOperationRequest? request, out RequestRejection? rejection)
    {
        request = null;
        rejection = null;
        if (!root.TryGetProperty("amount", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            request = new PaymentOperationRequest(PaymentOperationKind.Capture, paymentId, null, null);
            return true;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var amountMinor))
        {
            rejection = Invalid(Problems.InvalidAmount, "Invalid request", "One field is invalid.", "amount", "must be an integer number of minor units");
            return false;
        }
        if (amountMinor <= 0)
        {
            rejection = Invalid(Problems.InvalidAmount, "Invalid request", "One field is invalid.", "amount", "must be greater than zero");
            return false;
        }
        request = new PaymentOperationRequest(PaymentOperationKind.Capture, paymentId, amountMinor, null);
        return true;
    }

    private static bool TryReason(JsonElement root, Guid paymentId, out PaymentOperationRequest? request, out RequestRejection? rejection)
    {
        request = null;
        rejection = null;
        string? reason = null;
        if (root.TryGetProperty("reason", out var value) && value.ValueKind != JsonValueKind.Null)
        {
            reason = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            if (reason is null || !CancellationReasons.Contains(reason))
            {
                rejection = Invalid(Problems.InvalidRequest, "Invalid request", "One field is invalid.", "reason",
                    "must be one of " + string.Join(", ", CancellationReasons.Order(StringComparer.Ordinal)));
                return false;
            }
        }
        request = new PaymentOperationRequest(PaymentOperationKind.Void, paymentId, null, reason);
        return true;
    }

    private static bool IsBlank(ReadOnlySpan<byte> body)
    {
        foreach (var b in body)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) return false;
        return true;
    }

    private static RequestRejection Invalid(string type, string title, string detail, string? field = null, string? message = null) =>
        new(type, title, detail, field is null ? new Dictionary<string, string[]>() : new Dictionary<string, string[]> { [field] = [message!] });
}

using System.Text.Json;
using Payrail.Domain.Money;

namespace Payrail.Payments;

public enum CaptureMethod
{
    Automatic,
    Manual,
}

/// <summary>A validated <c>POST /v1/payments</c> body. Only <see cref="PaymentRequestParser"/> creates one.</summary>
public sealed record CreatePaymentRequest(
    string MerchantId,
    long AmountMinor,
    Currency Currency,
    string PaymentMethod,
    CaptureMethod Capture,
    string? Description,
    IReadOnlyDictionary<string, string> Metadata)
{
    public string CaptureWire => Capture == CaptureMethod.Manual ? "manual" : "automatic";

    /// <summary>
    /// The request in one canonical JSON form (fixed field order, defaults filled in, metadata
    /// sorted by key): two bodies that mean the same payment fingerprint the same, whatever
    /// their whitespace, field order or omitted defaults.
    /// </summary>
    public byte[] ToCanonicalJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("merchant_id", MerchantId);
            json.WriteNumber("amount", AmountMinor);
            json.WriteString("currency", Currency.Code);
            json.WriteString("payment_method", PaymentMethod);
            json.WriteString("capture", CaptureWire);
            if (Description is null) json.WriteNull("description");
            else json.WriteString("description", Description);
            json.WriteStartObject("metadata");
            foreach (var (key, value) in Metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) json.WriteString(key, value);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }
}

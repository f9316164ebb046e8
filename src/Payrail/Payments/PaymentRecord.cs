using System.Globalization;
using System.Text.Json;
using Payrail.Api;
using Payrail.Domain.Payments;

namespace Payrail.Payments;

/// <summary>One row of <c>payments</c>, as stored.</summary>
public sealed record PaymentRecord(
    Guid Id,
    string MerchantId,
    string BuyerId,
    long AmountMinor,
    string CurrencyCode,
    PaymentStatus Status,
    CaptureMethod Capture,
    string? Psp,
    string? PspReference,
    long AmountCapturedMinor,
    long AmountRefundedMinor,
    string? FailureCode,
    string? FailureMessage,
    string? Description,
    IReadOnlyDictionary<string, string> Metadata,
    int Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>
    /// Where the buyer must go to authenticate (3-D Secure), while the payment waits processing on it; null otherwise.
    /// Shown as <c>next_action</c> (migration 0013).
    /// </summary>
    public string? NextActionUrl { get; init; }

    /// <summary>What pending refunds hold out of what can be refunded (migration 0018); not shown in the API resource.</summary>
    public long AmountRefundPendingMinor { get; init; }

    /// <summary>The status a REFUNDED payment had before it (captured or settled); null in every other status.</summary>
    public PaymentStatus? RefundedFrom { get; init; }

    /// <summary>The refund amounts and status, as <see cref="Payrail.Domain.Refunds.PaymentRefunds"/> plans on them.</summary>
    public Payrail.Domain.Refunds.RefundBalance RefundBalance =>
        new(Status, AmountCapturedMinor, AmountRefundedMinor, AmountRefundPendingMinor, RefundedFrom);

    public string CaptureWire => Capture == CaptureMethod.Manual ? "manual" : "automatic";

    /// <summary>The API resource: snake_case, lowercase status, amounts in minor units, fixed field order.</summary>
    public string ToJson() => JsonText.Of(WriteTo);

    public void WriteTo(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("id", Id);
        json.WriteString("object", "payment");
        json.WriteString("status", Status.ToWire());
        json.WriteNumber("amount", AmountMinor);
        json.WriteString("currency", CurrencyCode);
        json.WriteString("merchant_id", MerchantId);
        json.WriteString("buyer_id", BuyerId);
        json.WriteString("capture", CaptureWire);
        WriteNullable(json, "psp", Psp);
        WriteNullable(json, "psp_reference", PspReference);
        json.WriteNumber("amount_captured", AmountCapturedMinor);
        json.WriteNumber("amount_refunded", AmountRefundedMinor);
        WriteNullable(json, "failure_code", FailureCode);
        WriteNullable(json, "failure_message", FailureMessage);
        // Only while the buyer has something to do: the shape of every other payment stays as it was.
        if (NextActionUrl is not null)
        {
            json.WriteStartObject("next_action");
            json.WriteString("type", "redirect_to_url");
            json.WriteString("url", NextActionUrl);
            json.WriteEndObject();
        }
        WriteNullable(json, "description", Description);
        json.WriteStartObject("metadata");
        foreach (var (key, value) in Metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) json.WriteString(key, value);
        json.WriteEndObject();
        json.WriteString("created_at", Timestamp(CreatedAt));
        json.WriteString("updated_at", Timestamp(UpdatedAt));
        json.WriteEndObject();
    }

    public string MetadataJson() => JsonText.Of(json =>
    {
        json.WriteStartObject();
        foreach (var (key, value) in Metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) json.WriteString(key, value);
        json.WriteEndObject();
    });

    public static IReadOnlyDictionary<string, string> ParseMetadata(string json)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        using var document = JsonDocument.Parse(json);
        foreach (var property in document.RootElement.EnumerateObject()) metadata[property.Name] = property.Value.GetString() ?? "";
        return metadata;
    }

    /// <summary>PostgreSQL keeps microseconds; so do we, so a stored and a re-read payment print the same.</summary>
    public static DateTimeOffset ToDatabasePrecision(DateTimeOffset at) =>
        new(at.UtcTicks - at.UtcTicks % 10, TimeSpan.Zero);

    public static string Timestamp(DateTimeOffset at) =>
        at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private static void WriteNullable(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null) json.WriteNull(name);
        else json.WriteString(name, value);
    }
}

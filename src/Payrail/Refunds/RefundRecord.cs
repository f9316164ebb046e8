using System.Text.Json;
using Payrail.Api;
using Payrail.Domain.Refunds;
using Payrail.Payments;

namespace Payrail.Refunds;

/// <summary>One row of <c>refunds</c> (migration 0018), as stored.</summary>
public sealed record RefundRecord(
    Guid Id,
    Guid PaymentId,
    string MerchantId,
    long AmountMinor,
    string CurrencyCode,
    RefundStatus Status,
    string? Reason,
    string Psp,
    string? PspRefundId,
    string? FailureReason,
    int Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>Stripe's refund reasons, the only ones a request may give.</summary>
    public static IReadOnlySet<string> Reasons { get; } = new HashSet<string>(StringComparer.Ordinal) { "duplicate", "fraudulent", "requested_by_customer" };

    /// <summary>The API resource: snake_case, lowercase status, amounts in minor units, fixed field order.</summary>
    public string ToJson() => JsonText.Of(WriteTo, 512);

    public void WriteTo(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("id", Id);
        json.WriteString("object", "refund");
        json.WriteString("payment_id", PaymentId);
        json.WriteString("status", Status.ToWire());
        json.WriteNumber("amount", AmountMinor);
        json.WriteString("currency", CurrencyCode);
        WriteNullable(json, "reason", Reason);
        json.WriteString("psp", Psp);
        WriteNullable(json, "psp_reference", PspRefundId);
        WriteNullable(json, "failure_reason", FailureReason);
        json.WriteString("created_at", PaymentRecord.Timestamp(CreatedAt));
        json.WriteString("updated_at", PaymentRecord.Timestamp(UpdatedAt));
        json.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null) json.WriteNull(name);
        else json.WriteString(name, value);
    }
}

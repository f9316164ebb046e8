using System.Globalization;
using System.Text.Json;

using Payrail.Psp;
using Payrail.Psp.Stripe;

namespace Payrail.Tests.Psp;

/// <summary>The JsonDocument page parser the reader replaced, verbatim: the oracle its results and refusals are compared with.</summary>
internal static class DocumentBalanceTransactionPages
{
    /// <summary>The lines of one page and whether more follow.</summary>
    public static (List<PspSettlementLine> Lines, bool HasMore) Parse(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || Str(root, "object") != "list" || !root.TryGetProperty("data", out var data)
                || data.ValueKind != JsonValueKind.Array || !root.TryGetProperty("has_more", out var more) || more.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                throw Malformed("not a list");
            var lines = new List<PspSettlementLine>(data.GetArrayLength());
            foreach (var item in data.EnumerateArray()) lines.Add(Line(item));
            return (lines, more.GetBoolean());
        }
        catch (JsonException e)
        {
            throw new PspUnavailableException("Stripe list_settlement_lines: the page is not valid JSON (truncated or malformed).", e);
        }
    }

    private static PspSettlementLine Line(JsonElement t)
    {
        var id = Str(t, "id") ?? throw Malformed("a line without id");
        var currency = Str(t, "currency") ?? throw Malformed($"{id} without currency");
        var type = Str(t, "type") ?? throw Malformed($"{id} without type");
        var source = t.TryGetProperty("source", out var s) ? s : default;
        string? sourceId = null, reference = null, sourceCurrency = null, sourceStatus = null;
        long? sourceAmount = null;
        if (source.ValueKind == JsonValueKind.String) sourceId = source.GetString();
        else if (source.ValueKind == JsonValueKind.Object)
        {
            sourceId = Str(source, "id");
            reference = Str(source, "payment_intent");
            sourceCurrency = Str(source, "currency");
            sourceStatus = Str(source, "status");
            var amountField = Str(source, "object") == "charge" ? "amount_captured" : "amount";
            if (sourceCurrency is not null && source.TryGetProperty(amountField, out var a) && a.TryGetInt64(out var amount))
                sourceAmount = StripeAmounts.ToIso(amount, sourceCurrency);
        }
        return new PspSettlementLine(
            Id: id,
            Type: type,
            PspReference: reference,
            SourceId: sourceId,
            AmountMinor: StripeAmounts.ToIso(Long(t, "amount", id), currency),
            FeeMinor: StripeAmounts.ToIso(Long(t, "fee", id), currency),
            NetMinor: StripeAmounts.ToIso(Long(t, "net", id), currency),
            CurrencyCode: currency.ToUpperInvariant(),
            Status: Str(t, "status") ?? throw Malformed($"{id} without status"),
            CreatedAt: DateTimeOffset.FromUnixTimeSeconds(Long(t, "created", id)),
            AvailableOn: DateTimeOffset.FromUnixTimeSeconds(Long(t, "available_on", id)))
        {
            ReportingCategory = Str(t, "reporting_category"),
            SourceAmountMinor = sourceAmount,
            SourceCurrencyCode = sourceCurrency?.ToUpperInvariant(),
            SourceStatus = sourceStatus,
        };
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long Long(JsonElement e, string name, string id) =>
        e.TryGetProperty(name, out var v) && v.TryGetInt64(out var n) ? n : throw Malformed($"{id} without {name}");

    private static PspUnavailableException Malformed(string why) => new($"Stripe list_settlement_lines: malformed page ({why}).");
}

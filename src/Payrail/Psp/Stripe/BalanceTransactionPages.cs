using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Payrail.Psp.Stripe;

/// <summary>
/// Stripe's balance transaction list (<c>GET /v1/balance_transactions</c>, sources expanded), read page by page with
/// System.Text.Json instead of Stripe.net's model: a reconciliation reads up to a million lines, and Stripe.net builds
/// the whole charge object of each (measured: most of a run's time). Only the fields a settlement line needs are read;
/// a page without them is refused as malformed (<see cref="PspUnavailableException"/>: the listing cannot be trusted),
/// never skipped. Same HttpClient pipeline as every call (attempt deadline, transport retries on GETs, body bound).
/// </summary>
internal static class BalanceTransactionPages
{
    public const int PageSize = 100;

    public static HttpRequestMessage Request(StripeConnectorOptions options, DateTimeOffset fromInclusive, DateTimeOffset toExclusive, string? type,
        string? after)
    {
        var query = string.Create(CultureInfo.InvariantCulture,
            $"limit={PageSize}&created%5Bgte%5D={fromInclusive.ToUnixTimeSeconds()}&created%5Blt%5D={toExclusive.ToUnixTimeSeconds()}&expand%5B%5D=data.source");
        if (type is not null) query += "&type=" + Uri.EscapeDataString(type);
        if (after is not null) query += "&starting_after=" + Uri.EscapeDataString(after);
        var request = new HttpRequestMessage(HttpMethod.Get, $"{options.BaseUrl.TrimEnd('/')}/v1/balance_transactions?{query}");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", options.ApiKey);
        request.Options.Set(ResponseBufferingHandler.PooledBody, true);
        return request;
    }

    /// <summary>
    /// The page in <paramref name="content"/>, read in place: the request asks ResponseBufferingHandler for a pooled body
    /// (<see cref="Request"/>); a content buffered otherwise (a client built without that handler) is copied first.
    /// </summary>
    public static async Task<(List<PspSettlementLine> Lines, bool HasMore)> ParseAsync(HttpContent content, CancellationToken cancellationToken) =>
        content is PooledBodyContent pooled ? Parse(pooled.Body) : Parse(await content.ReadAsByteArrayAsync(cancellationToken));

    /// <summary>
    /// The lines of one page and whether more follow, read in one pass with <see cref="Utf8JsonReader"/> (fields a line
    /// does not need are skipped, never materialised): JsonDocument built an index of every token of the ≈ 1.3 KB per
    /// line first (measured on a page pspsim wrote: 3.7 µs a line, now 2.1 µs). The whole body must be one complete JSON
    /// object: a truncated or trailing-garbage page throws. The loops are compiled optimised at once: a run is one
    /// short process, and perf showed them running unoptimised (tier 0) through most of a 300,000-line read.
    /// </summary>
    public static (List<PspSettlementLine> Lines, bool HasMore) Parse(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            var page = ReadPage(ref reader);
            // A complete page is one value: anything after it is garbage (the reader throws on it).
            if (reader.Read()) throw Malformed("content after the list");
            return page;
        }
        catch (JsonException e)
        {
            throw new PspUnavailableException("Stripe list_settlement_lines: the page is not valid JSON (truncated or malformed).", e);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (List<PspSettlementLine> Lines, bool HasMore) ReadPage(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw Malformed("not a list");
        string? kind = null;
        bool? hasMore = null;
        List<PspSettlementLine>? lines = null;
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("object"u8)) kind = ReadString(ref reader);
            else if (reader.ValueTextEquals("has_more"u8))
            {
                reader.Read();
                hasMore = reader.TokenType switch { JsonTokenType.True => true, JsonTokenType.False => false, _ => null };
                reader.Skip();
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray) throw Malformed("not a list");
                lines = new List<PspSettlementLine>(PageSize);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) lines.Add(ReadLine(ref reader));
            }
            else SkipValue(ref reader);
        }
        if (kind != "list" || lines is null || hasMore is null) throw Malformed("not a list");
        return (lines, hasMore.Value);
    }

    /// <summary>One balance transaction; the reader is on its StartObject and ends on its EndObject.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static PspSettlementLine ReadLine(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw Malformed("a line that is not an object");
        var t = new LineFields();
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("id"u8)) t.Id = ReadString(ref reader);
            else if (reader.ValueTextEquals("amount"u8)) t.Amount = ReadLong(ref reader);
            else if (reader.ValueTextEquals("fee"u8)) t.Fee = ReadLong(ref reader);
            else if (reader.ValueTextEquals("net"u8)) t.Net = ReadLong(ref reader);
            else if (reader.ValueTextEquals("currency"u8)) t.Currency = ReadString(ref reader);
            else if (reader.ValueTextEquals("type"u8)) t.Type = ReadString(ref reader);
            else if (reader.ValueTextEquals("status"u8)) t.Status = ReadString(ref reader);
            else if (reader.ValueTextEquals("created"u8)) t.Created = ReadLong(ref reader);
            else if (reader.ValueTextEquals("available_on"u8)) t.AvailableOn = ReadLong(ref reader);
            else if (reader.ValueTextEquals("reporting_category"u8)) t.ReportingCategory = ReadString(ref reader);
            else if (reader.ValueTextEquals("source"u8)) ReadSource(ref reader, ref t);
            else SkipValue(ref reader);
        }
        return t.ToLine();
    }

    /// <summary>The line's source: an id, or the expanded charge or refund (its other fields skipped).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ReadSource(ref Utf8JsonReader reader, ref LineFields t)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.String)
        {
            t.SourceId = reader.GetString();
            return;
        }
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }
        t.SourceExpanded = true;
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("id"u8)) t.SourceId = ReadString(ref reader);
            else if (reader.ValueTextEquals("object"u8)) t.SourceObject = ReadString(ref reader);
            else if (reader.ValueTextEquals("amount"u8)) t.SourceAmount = ReadAmount(ref reader);
            else if (reader.ValueTextEquals("amount_captured"u8)) t.SourceAmountCaptured = ReadAmount(ref reader);
            else if (reader.ValueTextEquals("currency"u8)) t.SourceCurrency = ReadString(ref reader);
            else if (reader.ValueTextEquals("payment_intent"u8)) t.Reference = ReadString(ref reader);
            else if (reader.ValueTextEquals("status"u8)) t.SourceStatus = ReadString(ref reader);
            else SkipValue(ref reader);
        }
    }

    /// <summary>Moves to the next property name of the object the reader is in; false at the object's end.</summary>
    private static bool NextProperty(ref Utf8JsonReader reader)
    {
        if (!reader.Read()) throw Malformed("truncated");
        if (reader.TokenType == JsonTokenType.EndObject) return false;
        return reader.TokenType == JsonTokenType.PropertyName ? true : throw Malformed("not an object");
    }

    /// <summary>A string value; null for any other kind of value (skipped), as a field that is not text is absent.</summary>
    private static string? ReadString(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.String) return reader.GetString();
        reader.Skip();
        return null;
    }

    /// <summary>An integer that fits 64 bits, or null for another number (a fraction, 1e30); anything but a number is malformed.</summary>
    private static long? ReadLong(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.Number) throw Malformed("a number field that is not a number");
        return reader.TryGetInt64(out var n) ? n : null;
    }

    /// <summary>A source's amount, refused only if it is the one the line uses (<see cref="LineFields.ToLine"/>).</summary>
    private static SourceAmount ReadAmount(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.Number)
        {
            reader.Skip();
            return new SourceAmount(null, IsNumber: false);
        }
        return new SourceAmount(reader.TryGetInt64(out var n) ? n : null, IsNumber: true);
    }

    private readonly record struct SourceAmount(long? Value, bool IsNumber);

    private static void SkipValue(ref Utf8JsonReader reader)
    {
        reader.Read();
        reader.Skip();
    }

    /// <summary>What a line carries as it is read (any order of members), checked once the line's object ends.</summary>
    private struct LineFields
    {
        public string? Id, Currency, Type, Status, ReportingCategory;
        public long? Amount, Fee, Net, Created, AvailableOn;
        public bool SourceExpanded;
        public string? SourceId, SourceObject, Reference, SourceCurrency, SourceStatus;
        public SourceAmount? SourceAmount, SourceAmountCaptured;

        public readonly PspSettlementLine ToLine()
        {
            var id = Id ?? throw Malformed("a line without id");
            var currency = Currency ?? throw Malformed($"{id} without currency");
            var type = Type ?? throw Malformed($"{id} without type");
            long? sourceAmount = null;
            if (SourceExpanded && SourceCurrency is not null && (SourceObject == "charge" ? SourceAmountCaptured : SourceAmount) is { } amount)
            {
                if (!amount.IsNumber) throw Malformed($"{id}: its source's amount is not a number");
                if (amount.Value is { } value) sourceAmount = StripeAmounts.ToIso(value, SourceCurrency);
            }
            return new PspSettlementLine(
                Id: id,
                Type: type,
                PspReference: SourceExpanded ? Reference : null,
                SourceId: SourceId,
                AmountMinor: StripeAmounts.ToIso(Amount ?? throw Missing(id, "amount"), currency),
                FeeMinor: StripeAmounts.ToIso(Fee ?? throw Missing(id, "fee"), currency),
                NetMinor: StripeAmounts.ToIso(Net ?? throw Missing(id, "net"), currency),
                CurrencyCode: currency.ToUpperInvariant(),
                Status: Status ?? throw Malformed($"{id} without status"),
                CreatedAt: DateTimeOffset.FromUnixTimeSeconds(Created ?? throw Missing(id, "created")),
                AvailableOn: DateTimeOffset.FromUnixTimeSeconds(AvailableOn ?? throw Missing(id, "available_on")))
            {
                ReportingCategory = ReportingCategory,
                SourceAmountMinor = sourceAmount,
                SourceCurrencyCode = SourceExpanded ? SourceCurrency?.ToUpperInvariant() : null,
                SourceStatus = SourceExpanded ? SourceStatus : null,
            };
        }

        private static PspUnavailableException Missing(string id, string name) => Malformed($"{id} without {name}");
    }

    private static PspUnavailableException Malformed(string why) => new($"Stripe list_settlement_lines: malformed page ({why}).");
}

using System.Globalization;
using Payrail.Domain.Money;
using Payrail.Domain.Payments;

namespace Payrail.Dashboard;

/// <summary>
/// The payments page's filters and search, parsed from the query string (a pure function: tested without a server).
/// Dates are UTC days, both ends included. An amount is typed as the buyer sees it ("19.99") and read with the chosen
/// currency's exponent, so an amount filter needs a currency. The search is a payment id, a PSP reference or a buyer id.
/// </summary>
public sealed record PaymentsFilter(
    string? Status, DateOnly? From, DateOnly? To, long? MinAmountMinor, long? MaxAmountMinor, string? Currency,
    string? PaymentMethod, string? Search, PaymentsCursor? After)
{
    public const int MaxTextChars = 128;
    public const int MaxDays = 3_660;

    public static readonly PaymentsFilter None = new(null, null, null, null, null, null, null, null, null);

    public static readonly IReadOnlyList<string> Statuses =
        [.. Enum.GetValues<PaymentStatus>().Select(PaymentStatusWire.ToWire)];

    /// <summary>Anything that narrows the list: with one set, a new payment arriving live is not added to the page.</summary>
    public bool Narrows => Status is not null || From is not null || To is not null || MinAmountMinor is not null
        || MaxAmountMinor is not null || Currency is not null || PaymentMethod is not null || Search is not null;

    public DateTimeOffset? FromTime => From?.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);

    /// <summary>Exclusive end: the day after <see cref="To"/> at midnight UTC.</summary>
    public DateTimeOffset? ToTimeExclusive => To?.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);

    public Guid? SearchPaymentId => Guid.TryParse(Search, out var id) ? id : null;

    public static PaymentsFilter Parse(IQueryCollection query, out Dictionary<string, string> errors)
    {
        var found = new Dictionary<string, string>();
        var filter = Parse(query, found);
        errors = found;
        return filter;
    }

    private static PaymentsFilter Parse(IQueryCollection query, Dictionary<string, string> errors)
    {
        string? Text(string name)
        {
            var value = query[name].ToString().Trim();
            if (value.Length == 0) return null;
            if (value.Length <= MaxTextChars && !value.Any(char.IsControl)) return value;
            errors[name] = $"at most {MaxTextChars} characters";
            return null;
        }

        var status = Text("status");
        if (status is not null && !Statuses.Contains(status))
        {
            errors["status"] = "not a payment status";
            status = null;
        }
        var from = Day(Text("from"), "from", errors);
        var to = Day(Text("to"), "to", errors);
        if (from is { } f && to is { } t && (f > t || t.DayNumber - f.DayNumber > MaxDays))
            errors["to"] = $"must be on or after from, at most {MaxDays} days later";

        var currencyCode = Text("currency")?.ToUpperInvariant();
        Currency? currency = null;
        if (currencyCode is not null && !Domain.Money.Currency.TryFromCode(currencyCode, out currency))
            errors["currency"] = "not an ISO 4217 currency";
        var min = Amount(Text("min"), "min", currency, currencyCode, errors);
        var max = Amount(Text("max"), "max", currency, currencyCode, errors);
        if (min is { } lo && max is { } hi && lo > hi) errors["max"] = "must be at least the minimum";

        var cursor = Text("after") is { } after ? PaymentsCursor.TryParse(after) : null;
        if (query.ContainsKey("after") && cursor is null && !errors.ContainsKey("after")) errors["after"] = "not a page cursor";

        return new PaymentsFilter(status, from, to, min, max, currency?.Code, Text("method"), Text("q"), cursor);
    }

    private static DateOnly? Day(string? text, string name, Dictionary<string, string> errors)
    {
        if (text is null) return null;
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)) return day;
        errors[name] = "a date as YYYY-MM-DD";
        return null;
    }

    private static long? Amount(string? text, string name, Currency? currency, string? currencyCode, Dictionary<string, string> errors)
    {
        if (text is null) return null;
        if (currency is null)
        {
            if (currencyCode is null) errors[name] = "choose a currency to filter by amount";
            return null;
        }
        if (Money.TryParse(text, currency, out var money)) return money.AmountMinor;
        errors[name] = $"an amount in {currency.Code} with at most {currency.Exponent} decimals";
        return null;
    }

    /// <summary>The query string of this filter (page cursor excluded), for links and the export.</summary>
    public string ToQuery(Func<long, string> formatAmount)
    {
        var parts = new List<string>();
        void Add(string name, string? value)
        {
            if (value is not null) parts.Add($"{name}={Uri.EscapeDataString(value)}");
        }
        Add("status", Status);
        Add("from", From?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        Add("to", To?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        Add("currency", Currency);
        Add("min", MinAmountMinor is { } min ? formatAmount(min) : null);
        Add("max", MaxAmountMinor is { } max ? formatAmount(max) : null);
        Add("method", PaymentMethod);
        Add("q", Search);
        return string.Join('&', parts);
    }
}

/// <summary>A position in the newest-first list: the last row shown, as (created_at, id).</summary>
public sealed record PaymentsCursor(DateTimeOffset CreatedAt, Guid Id)
{
    /// <summary>Microseconds since the epoch (PostgreSQL's precision) and the id: "1764500000123456_&lt;uuid&gt;".</summary>
    public override string ToString() =>
        $"{((CreatedAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10).ToString(CultureInfo.InvariantCulture)}_{Id:D}";

    public static PaymentsCursor? TryParse(string text)
    {
        var split = text.IndexOf('_');
        if (split <= 0 || !long.TryParse(text.AsSpan(0, split), NumberStyles.None, CultureInfo.InvariantCulture, out var micros)
            || !Guid.TryParse(text.AsSpan(split + 1), out var id) || micros > 253_402_300_799_000_000)
            return null;
        return new PaymentsCursor(DateTimeOffset.UnixEpoch.AddTicks(micros * 10), id);
    }
}

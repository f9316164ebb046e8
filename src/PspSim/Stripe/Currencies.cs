namespace PspSim.Stripe;

/// <summary>Settlement-capable ISO 4217 codes Stripe accepts (lower case, as Stripe writes them).</summary>
public static class Currencies
{
    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "usd", "eur", "gbp", "chf", "cad", "aud", "nzd", "jpy", "sek", "nok", "dkk", "pln", "czk", "huf", "ron",
        "bgn", "isk", "try", "mxn", "brl", "inr", "sgd", "hkd", "krw", "cny", "zar", "aed", "ils", "thb", "myr",
        "php", "idr", "twd", "clp", "cop", "pen", "ars", "sar", "qar", "kwd", "bhd", "egp", "ngn", "kes", "vnd",
    };

    public static string Parse(string? raw)
    {
        if (raw is null) throw StripeApiException.Missing("currency");
        var c = raw.ToLowerInvariant();
        if (!Known.Contains(c))
            throw StripeApiException.Invalid($"Invalid currency: {raw}. Stripe currently supports these currencies: {string.Join(", ", Known.Order())}", "currency", "invalid_currency");
        return c;
    }
}

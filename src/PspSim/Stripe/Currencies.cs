namespace PspSim.Stripe;

/// <summary>
/// Stripe's presentment currencies and the unit Stripe counts each one in, which is not always ISO 4217's.
/// Sources (read 2026-11-30): docs.stripe.com/currencies — "Specify amounts in API requests" (zero-decimal list),
/// "Three-decimal currencies", "Special cases" (ISK, HUF, TWD, UGX) and "Minimum charge amount by currency";
/// the presentment list of the same page; support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds
/// for the error Stripe answers to a fractional ISK amount.
/// </summary>
public static class Currencies
{
    /// <summary>How Stripe writes amounts of one currency.</summary>
    public enum Unit
    {
        /// <summary>amount = hundredths (USD 10.00 = 1000). HUF and TWD too: their special case concerns payouts only.</summary>
        TwoDecimal,
        /// <summary>amount = whole units (JPY 500 = 500).</summary>
        ZeroDecimal,
        /// <summary>ISK and UGX: zero-decimal currencies kept two-decimal for backward compatibility, so amount % 100 == 0.</summary>
        TwoDecimalWholeUnits,
        /// <summary>amount = thousandths (KWD 5.120 = 5120), and Stripe requires the last digit to be 0.</summary>
        ThreeDecimal,
    }

    // UGX is on Stripe's zero-decimal list too, but the special-cases table (with its example "to charge 5 UGX,
    // provide an amount value of 500") is the rule for charges.
    private static readonly string[] ZeroDecimal =
        ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "vnd", "vuv", "xaf", "xof", "xpf"];
    private static readonly string[] TwoDecimalWholeUnits = ["isk", "ugx"];
    private static readonly string[] ThreeDecimal = ["bhd", "jod", "kwd", "omr", "tnd"];
    private static readonly string[] TwoDecimal =
    [
        "usd", "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt", "bgn", "bmd",
        "bnd", "bob", "brl", "bsd", "bwp", "byn", "bzd", "cad", "cdf", "chf", "cny", "cop", "crc", "cve", "czk", "dkk",
        "dop", "dzd", "egp", "etb", "eur", "fjd", "fkp", "gbp", "gel", "gip", "gmd", "gtq", "gyd", "hkd", "hnl", "htg",
        "huf", "idr", "ils", "inr", "jmd", "kes", "kgs", "khr", "kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "mad",
        "mdl", "mkd", "mmk", "mnt", "mop", "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok", "npr",
        "nzd", "pab", "pen", "pgk", "php", "pkr", "pln", "qar", "ron", "rsd", "rub", "sar", "sbd", "scr", "sek", "sgd",
        "shp", "sle", "sos", "srd", "std", "szl", "thb", "tjs", "top", "try", "ttd", "twd", "tzs", "uah", "uyu", "uzs",
        "wst", "xcd", "yer", "zar", "zmw",
    ];

    private static readonly Dictionary<string, Unit> Units = Build();

    /// <summary>
    /// Minimum charge amounts in Stripe's unit. Stripe applies them in the account's settlement currency after
    /// conversion; the sandbox applies the charge currency's own, so a currency without an entry has no minimum here.
    /// </summary>
    private static readonly Dictionary<string, long> MinimumChargeAmounts = new(StringComparer.Ordinal)
    {
        ["usd"] = 50, ["aed"] = 200, ["ars"] = 50, ["aud"] = 50, ["brl"] = 50, ["cad"] = 50, ["chf"] = 50,
        ["cop"] = 50, ["czk"] = 1500, ["dkk"] = 250, ["eur"] = 50, ["gbp"] = 30, ["hkd"] = 400, ["huf"] = 17500,
        ["idr"] = 50, ["ils"] = 50, ["inr"] = 50, ["jpy"] = 50, ["krw"] = 50, ["mxn"] = 1000, ["myr"] = 200,
        ["nok"] = 300, ["nzd"] = 50, ["php"] = 50, ["pln"] = 200, ["ron"] = 200, ["rub"] = 50, ["sek"] = 300,
        ["sgd"] = 50, ["thb"] = 1000, ["zar"] = 50,
    };

    private static Dictionary<string, Unit> Build()
    {
        var units = new Dictionary<string, Unit>(StringComparer.Ordinal);
        foreach (var c in TwoDecimal) units.Add(c, Unit.TwoDecimal);
        foreach (var c in ZeroDecimal) units.Add(c, Unit.ZeroDecimal);
        foreach (var c in TwoDecimalWholeUnits) units.Add(c, Unit.TwoDecimalWholeUnits);
        foreach (var c in ThreeDecimal) units.Add(c, Unit.ThreeDecimal);
        return units;
    }

    public static string Parse(string? raw)
    {
        if (raw is null) throw StripeApiException.Missing("currency");
        var c = raw.ToLowerInvariant();
        if (!Units.ContainsKey(c))
            throw StripeApiException.Invalid($"Invalid currency: {raw}. Stripe currently supports these currencies: {string.Join(", ", Units.Keys.Order())}", "currency", "invalid_currency");
        return c;
    }

    public static Unit UnitOf(string currency) => Units[currency];

    public static bool IsKnown(string? currency) => currency is not null && Units.ContainsKey(currency);

    /// <summary>Decimal places of Stripe's unit (not always ISO 4217's): what converting between currencies scales by.</summary>
    public static int Exponent(string currency) => UnitOf(currency) switch
    {
        Unit.ZeroDecimal => 0,
        Unit.ThreeDecimal => 3,
        _ => 2,
    };

    /// <summary>Every amount of this currency must be a multiple of this many of Stripe's units (charges, captures, refunds, fees).</summary>
    public static long Step(string currency) => UnitOf(currency) switch
    {
        Unit.TwoDecimalWholeUnits => 100,
        Unit.ThreeDecimal => 10,
        _ => 1,
    };

    public static long? MinimumChargeAmount(string currency) =>
        MinimumChargeAmounts.TryGetValue(currency, out var minimum) ? minimum : null;

    /// <summary>Refuses an amount Stripe cannot charge in this currency: not a whole step, or (for charges and captures) below the minimum.</summary>
    public static void RequireChargeable(long amount, string currency, string param, bool applyMinimum, bool executed = false)
    {
        var step = Step(currency);
        if (amount % step != 0)
        {
            // Stripe's own code and wording for ISK (support article above); the three-decimal rule has no
            // documented code, so the generic invalid_charge_amount stands in for it.
            var (code, message) = UnitOf(currency) == Unit.TwoDecimalWholeUnits
                ? ("invalid_charge_amount_no_decimal_compatible",
                    $"Invalid amount. Currency {currency.ToUpperInvariant()} has become effectively zero-decimal and charged amounts must be evenly divisible by 100. See https://stripe.com/docs/currencies#special-cases for more information.")
                : ("invalid_charge_amount",
                    $"Invalid amount. {currency.ToUpperInvariant()} is a three-decimal currency and the last digit of the amount must be 0. See https://stripe.com/docs/currencies#three-decimal for more information.");
            throw new StripeApiException(400, "invalid_request_error", code, message, param) { Executed = executed };
        }
        if (applyMinimum && MinimumChargeAmount(currency) is { } minimum && amount < minimum)
            throw new StripeApiException(400, "invalid_request_error", "amount_too_small",
                $"Amount must be at least {minimum} {currency} (Stripe's minimum charge amount, in minor units).", param) { Executed = executed };
    }
}

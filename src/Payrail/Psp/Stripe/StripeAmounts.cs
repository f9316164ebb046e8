using Payrail.Domain.Money;

namespace Payrail.Psp.Stripe;

/// <summary>
/// Payrail's amounts are ISO 4217 minor units; Stripe counts some currencies in a unit of its own. This table turns
/// one into the other, exactly or not at all: an amount that cannot be converted without rounding is refused,
/// because a rounded amount is a different charge (ISK 5,000 kr sent unconverted is amount 5000 = 50 kr at Stripe).
/// Pure: integer arithmetic only, no I/O.
/// </summary>
/// <remarks>
/// Sources (read 2026-11-30): docs.stripe.com/currencies — "Zero-decimal currencies", "Three-decimal currencies",
/// "Special cases" (ISK and UGX: "transitioned to a zero-decimal currency, but backward compatibility requires you to
/// represent it as a two-decimal value, where the decimal amount is always 00"; HUF and TWD: zero-decimal for payouts
/// only, "you can charge two-decimal amounts"), "Minimum charge amount by currency" and "Maximum charge amounts";
/// support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds (ISK amounts must be multiples of
/// 100, refunds included). UGX is also on the zero-decimal list; the special case, with its example "to charge 5 UGX,
/// provide an amount value of 500", is what Stripe does for charges.
/// </remarks>
public static class StripeAmounts
{
    /// <summary>Stripe's 8-digit ceiling on <c>amount</c> for most currencies (pspsim enforces the same).</summary>
    public const long MaxStripeAmount = 99_999_999;

    /// <summary>Digits after the decimal point in Stripe's <c>amount</c>, and the step every amount must be a multiple of.</summary>
    private readonly record struct StripeUnit(int Exponent, long Step);

    private static readonly StripeUnit TwoDecimal = new(2, 1);
    private static readonly StripeUnit ZeroDecimal = new(0, 1);
    private static readonly StripeUnit TwoDecimalWholeUnits = new(2, 100);
    private static readonly StripeUnit ThreeDecimal = new(3, 10);

    private static readonly Dictionary<string, StripeUnit> Units = BuildUnits();

    /// <summary>
    /// Stripe's minimum charge amounts, in Stripe's unit. Stripe applies them in the account's settlement currency;
    /// charges in another currency must meet the converted minimum, which needs an exchange rate, so only the
    /// same-currency minimum is checked here and Stripe's amount_too_small stays possible for the others.
    /// </summary>
    private static readonly Dictionary<string, long> MinimumChargeAmounts = new(StringComparer.Ordinal)
    {
        ["USD"] = 50, ["AED"] = 200, ["ARS"] = 50, ["AUD"] = 50, ["BRL"] = 50, ["CAD"] = 50, ["CHF"] = 50,
        ["COP"] = 50, ["CZK"] = 1500, ["DKK"] = 250, ["EUR"] = 50, ["GBP"] = 30, ["HKD"] = 400, ["HUF"] = 17500,
        ["IDR"] = 50, ["ILS"] = 50, ["INR"] = 50, ["JPY"] = 50, ["KRW"] = 50, ["MXN"] = 1000, ["MYR"] = 200,
        ["NOK"] = 300, ["NZD"] = 50, ["PHP"] = 50, ["PLN"] = 200, ["RON"] = 200, ["RUB"] = 50, ["SEK"] = 300,
        ["SGD"] = 50, ["THB"] = 1000, ["ZAR"] = 50,
    };

    private static Dictionary<string, StripeUnit> BuildUnits()
    {
        var units = new Dictionary<string, StripeUnit>(StringComparer.Ordinal);
        foreach (var code in (string[])
                 ["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "VND", "VUV", "XAF", "XOF", "XPF"])
            units.Add(code, ZeroDecimal);
        foreach (var code in (string[])["ISK", "UGX"]) units.Add(code, TwoDecimalWholeUnits);
        foreach (var code in (string[])["BHD", "JOD", "KWD", "OMR", "TND"]) units.Add(code, ThreeDecimal);
        // Stripe's presentment currencies that are two-decimal at Stripe (HUF and TWD included, see remarks).
        foreach (var code in (string[])
                 [
                     "USD", "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
                     "BMD", "BND", "BOB", "BRL", "BSD", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CNY", "COP", "CRC",
                     "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GIP", "GMD",
                     "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "JMD", "KES", "KGS", "KHR", "KYD",
                     "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MKD", "MMK", "MNT", "MOP", "MUR", "MVR",
                     "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP",
                     "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SEK", "SGD", "SHP", "SLE", "SOS",
                     "SRD", "SZL", "THB", "TJS", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UYU", "UZS", "WST", "XCD",
                     "YER", "ZAR", "ZMW",
                 ])
            units.Add(code, TwoDecimal);
        return units;
    }

    /// <summary>Whether Stripe can charge exactly this amount: supported currency, exact conversion, within Stripe's bounds.</summary>
    public static PspAmountCheck Check(long amountMinor, string currencyCode)
    {
        if (amountMinor <= 0) return PspAmountCheck.NotRepresentable;
        if (!TryUnits(currencyCode, out var iso, out var unit)) return PspAmountCheck.CurrencyNotSupported;
        if (!TryToStripe(amountMinor, iso, unit, out var stripeAmount)) return PspAmountCheck.NotRepresentable;
        if (stripeAmount > MaxStripeAmount) return PspAmountCheck.AboveMaximum;
        if (MinimumChargeAmounts.TryGetValue(iso.Code, out var minimum) && stripeAmount < minimum) return PspAmountCheck.BelowMinimum;
        return PspAmountCheck.Chargeable;
    }

    /// <summary>ISO 4217 minor units → Stripe's <c>amount</c>; throws <see cref="StripeAmountException"/> unless exact.</summary>
    public static long ToStripe(long amountMinor, string currencyCode)
    {
        if (!TryUnits(currencyCode, out var iso, out var unit))
            throw new StripeAmountException($"Currency {Printable(currencyCode)} is not one Stripe can charge.");
        if (!TryToStripe(amountMinor, iso, unit, out var stripeAmount))
            throw new StripeAmountException(
                $"{amountMinor} minor units of {iso.Code} (ISO exponent {iso.Exponent}) have no exact Stripe amount " +
                $"(exponent {unit.Exponent}, multiples of {unit.Step}).");
        return stripeAmount;
    }

    /// <summary>
    /// Stripe's <c>amount</c> (or fee, net, refunded amount; negative for refunds) → ISO 4217 minor units; throws
    /// <see cref="StripeAmountException"/> unless exact (ISK 550 is 5.50 kr, which ISO 4217 cannot hold).
    /// </summary>
    public static long ToIso(long stripeAmount, string? stripeCurrency)
    {
        if (!TryUnits(stripeCurrency, out var iso, out var unit))
            throw new StripeAmountException($"Stripe answered in currency {Printable(stripeCurrency)}, which Payrail does not charge at Stripe.");
        if (!TryScale(stripeAmount, unit.Exponent, iso.Exponent, out var amountMinor))
            throw new StripeAmountException(
                $"Stripe amount {stripeAmount} {iso.Code} (exponent {unit.Exponent}) has no exact value in ISO minor units (exponent {iso.Exponent}).");
        return amountMinor;
    }

    private static bool TryUnits(string? currencyCode, out Currency iso, out StripeUnit unit)
    {
        unit = default;
        if (!Currency.TryFromCode(currencyCode, out iso!)) return false;
        return Units.TryGetValue(iso.Code, out unit);
    }

    private static bool TryToStripe(long amountMinor, Currency iso, StripeUnit unit, out long stripeAmount) =>
        TryScale(amountMinor, iso.Exponent, unit.Exponent, out stripeAmount) && stripeAmount % unit.Step == 0;

    /// <summary>Moves an amount from one exponent to another: checked multiplication up, exact division down.</summary>
    private static bool TryScale(long amount, int fromExponent, int toExponent, out long scaled)
    {
        scaled = 0;
        var factor = PowerOfTen(Math.Abs(toExponent - fromExponent));
        if (toExponent >= fromExponent)
        {
            try
            {
                scaled = checked(amount * factor);
                return true;
            }
            catch (OverflowException)
            {
                return false;
            }
        }
        if (amount % factor != 0) return false;
        scaled = amount / factor;
        return true;
    }

    private static long PowerOfTen(int exponent)
    {
        // ISO 4217 exponents are 0..4; anything else is a broken table, not an input.
        if (exponent is < 0 or > 4) throw new InvalidOperationException($"Exponent difference {exponent} is out of range.");
        var power = 1L;
        for (var i = 0; i < exponent; i++) power *= 10;
        return power;
    }

    // Currency codes in messages come from our own table or Stripe's answer; keep them short and printable anyway.
    private static string Printable(string? code) =>
        code is null ? "(none)" : new string(code.Take(8).Select(c => char.IsAsciiLetter(c) ? c : '?').ToArray());
}

/// <summary>An amount with no exact counterpart in the other unit (ISO 4217 ↔ Stripe), or a currency Stripe does not charge.</summary>
public sealed class StripeAmountException(string message) : InvalidOperationException(message);

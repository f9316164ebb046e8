using System.Globalization;
using PspSim.Stripe;

namespace PspSim.BalanceTransactions;

/// <summary>What a balance transaction books for an amount of a charge's currency: in which currency, at which rate.</summary>
public sealed record Booking(long Amount, string Currency, string? ExchangeRate);

/// <summary>
/// How the sandbox account settles (docs.stripe.com/currencies#conversions, docs.stripe.com/api/balance_transactions):
/// a charge in the settlement currency is booked as is; a charge in a currency with a rate in the FX table is
/// converted into the settlement currency, and <c>exchange_rate</c> says how (amount in the charge's currency, in
/// major units, × exchange_rate = amount in the settlement currency). All integer arithmetic on the decimal string:
/// the exact product is rounded once, half up (away from zero for refunds), to a whole step of the settlement
/// currency's Stripe unit (a cent for USD, 100 for ISK, 10 for three-decimal currencies). A currency with no rate is
/// booked in itself (Stripe would convert it).
/// </summary>
public static class Settlement
{
    /// <summary>Digits a rate may carry: enough for any real rate, small enough that every product fits Int128.</summary>
    public const int MaxRateDigits = 18;

    public static Booking Book(long amount, string currency, PspSimOptions options)
    {
        var settlement = options.SettlementCurrency;
        if (currency == settlement || !options.ExchangeRates.TryGetValue(currency, out var rate)) return new(amount, currency, null);
        var (numerator, denominator) = ParseRate(rate) ?? throw new InvalidOperationException($"PspSim:ExchangeRates:{currency} is not a rate");
        return new(Convert(amount, currency, settlement, numerator, denominator), settlement, rate);
    }

    /// <summary>
    /// <paramref name="amount"/> (Stripe's unit of <paramref name="from"/>) × numerator / denominator, moved from
    /// <paramref name="from"/>'s exponent to <paramref name="to"/>'s, rounded half away from zero to a whole step of <paramref name="to"/>.
    /// </summary>
    public static long Convert(long amount, string from, string to, long numerator, long denominator)
    {
        var magnitude = (Int128)Math.Abs(amount) * numerator * Pow10(Currencies.Exponent(to));
        var divisor = (Int128)denominator * Pow10(Currencies.Exponent(from));
        var step = Currencies.Step(to);
        // One rounding, straight to a whole step: rounding to the unit first could round twice (ISK 149.5 → 150 → 200).
        var stepped = RoundHalfUp(magnitude, divisor * step) * step;
        return checked((long)stepped) * Math.Sign(amount);
    }

    /// <summary>Fee in Stripe's unit of the booked currency, from that currency's schedule (or the default one).</summary>
    public static long FeeFor(long amount, string currency, PspSimOptions options)
    {
        var schedule = options.Fees.TryGetValue(currency, out var own) ? own : new FeeSchedule { PercentBps = options.FeePercentBps, FixedMinor = options.FeeFixedMinor };
        return Fee(amount, schedule.PercentBps, schedule.FixedMinor, Currencies.Step(currency));
    }

    /// <summary>
    /// Percentage rounded half up (integer arithmetic), plus the fixed part, rounded half up to a whole
    /// <paramref name="step"/>, never above the amount. The amount is a whole step, so the fee and net are too.
    /// </summary>
    public static long Fee(long amount, long percentBps, long fixedMinor, long step)
    {
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), "must be at least 1");
        if (amount <= 0) return 0;
        checked
        {
            var percent = (amount * percentBps + 5_000) / 10_000;
            var fee = (percent + fixedMinor + step / 2) / step * step;
            return Math.Min(amount, fee);
        }
    }

    /// <summary>
    /// "0.0067" → (67, 10000). Null unless a positive decimal of at most <see cref="MaxRateDigits"/> digits without a
    /// leading zero (the text goes out as a JSON number, digit for digit).
    /// </summary>
    public static (long Numerator, long Denominator)? ParseRate(string? rate)
    {
        if (string.IsNullOrEmpty(rate)) return null;
        var dot = rate.IndexOf('.');
        var digits = dot < 0 ? rate : rate[..dot] + rate[(dot + 1)..];
        var decimals = dot < 0 ? 0 : rate.Length - dot - 1;
        if (digits.Length is 0 or > MaxRateDigits || (dot >= 0 && (dot == 0 || decimals == 0)) || !digits.All(char.IsAsciiDigit)) return null;
        var integerDigits = dot < 0 ? rate.Length : dot;
        if (integerDigits > 1 && rate[0] == '0') return null;
        var numerator = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        return numerator == 0 ? null : (numerator, (long)Pow10(decimals));
    }

    private static Int128 RoundHalfUp(Int128 numerator, Int128 denominator) => (numerator * 2 + denominator) / (denominator * 2);

    private static Int128 Pow10(int exponent)
    {
        Int128 result = 1;
        for (var i = 0; i < exponent; i++) result *= 10;
        return result;
    }
}

/// <summary>A fee schedule: percentage in basis points plus a fixed part in Stripe's unit of its currency.</summary>
public sealed class FeeSchedule
{
    public long PercentBps { get; set; }
    public long FixedMinor { get; set; }
}

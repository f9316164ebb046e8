using System.Globalization;

namespace Payrail.Domain.Money;

/// <summary>
/// An amount of money as whole minor units (cents, yen, fils) in one currency.
/// Integer arithmetic only: every operation is checked, and mixing currencies throws,
/// because a silent wrap-around or a USD+EUR sum is a wrong balance, not a rounding error.
/// </summary>
public readonly record struct Money
{
    private readonly Currency? _currency;

    public long AmountMinor { get; }

    /// <summary>The currency; a default(Money) has none and throws here rather than act as USD.</summary>
    public Currency Currency =>
        _currency ?? throw new InvalidOperationException("default(Money) has no currency.");

    public Money(long amountMinor, Currency currency)
    {
        ArgumentNullException.ThrowIfNull(currency);
        AmountMinor = amountMinor;
        _currency = currency;
    }

    public static Money Zero(Currency currency) => new(0, currency);

    public static Money operator +(Money left, Money right)
    {
        var currency = SameCurrency(left, right);
        return new Money(checked(left.AmountMinor + right.AmountMinor), currency);
    }

    public static Money operator -(Money left, Money right)
    {
        var currency = SameCurrency(left, right);
        return new Money(checked(left.AmountMinor - right.AmountMinor), currency);
    }

    public static Money operator -(Money value) => new(checked(-value.AmountMinor), value.Currency);

    /// <summary>Multiplies by a whole quantity (e.g. line items); checked.</summary>
    public Money Times(long quantity) => new(checked(AmountMinor * quantity), Currency);

    public static bool operator <(Money left, Money right) => Compare(left, right) < 0;
    public static bool operator >(Money left, Money right) => Compare(left, right) > 0;
    public static bool operator <=(Money left, Money right) => Compare(left, right) <= 0;
    public static bool operator >=(Money left, Money right) => Compare(left, right) >= 0;

    public bool IsPositive => AmountMinor > 0;

    /// <summary>"20.00 USD", "1000 JPY", "1.234 KWD", "-0.05 EUR". Invariant, no grouping.</summary>
    public string Format()
    {
        var currency = Currency;
        // Magnitude as ulong so long.MinValue formats instead of overflowing on negation.
        var magnitude = AmountMinor < 0 ? (ulong)(-(AmountMinor + 1)) + 1UL : (ulong)AmountMinor;
        var sign = AmountMinor < 0 ? "-" : "";
        if (currency.Exponent == 0)
        {
            return $"{sign}{magnitude.ToString(CultureInfo.InvariantCulture)} {currency.Code}";
        }

        var scale = Pow10(currency.Exponent);
        var major = (magnitude / scale).ToString(CultureInfo.InvariantCulture);
        var minor = (magnitude % scale).ToString(CultureInfo.InvariantCulture).PadLeft(currency.Exponent, '0');
        return $"{sign}{major}.{minor} {currency.Code}";
    }

    public override string ToString() => _currency is null ? "(no currency)" : Format();

    /// <summary>
    /// Strict parse of a non-negative decimal amount such as "20.00" or "20.5" (USD) or "1000" (JPY):
    /// ASCII digits, at most one '.', at most <see cref="Currency.Exponent"/> fraction digits,
    /// no sign, no spaces, no grouping, no exponent notation, no overflow.
    /// </summary>
    public static bool TryParse(string? text, Currency currency, out Money money)
    {
        ArgumentNullException.ThrowIfNull(currency);
        money = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var dot = text.IndexOf('.');
        var whole = dot < 0 ? text.AsSpan() : text.AsSpan(0, dot);
        var fraction = dot < 0 ? ReadOnlySpan<char>.Empty : text.AsSpan(dot + 1);
        if (whole.IsEmpty || (dot >= 0 && (fraction.IsEmpty || fraction.Length > currency.Exponent)))
        {
            return false;
        }

        if (!TryAccumulate(0, whole, out var amount))
        {
            return false;
        }

        // "20.5" in USD means 2050: pad the fraction to the currency's full exponent.
        for (var i = 0; i < currency.Exponent; i++)
        {
            var digit = i < fraction.Length ? fraction[i] : '0';
            if (!TryAccumulate(amount, [digit], out amount))
            {
                return false;
            }
        }

        money = new Money(amount, currency);
        return true;
    }

    private static bool TryAccumulate(long start, ReadOnlySpan<char> digits, out long value)
    {
        value = start;
        foreach (var c in digits)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            var digit = c - '0';
            if (value > (long.MaxValue - digit) / 10)
            {
                return false;
            }

            value = value * 10 + digit;
        }

        return true;
    }

    private static ulong Pow10(int exponent)
    {
        ulong result = 1;
        for (var i = 0; i < exponent; i++)
        {
            result *= 10;
        }

        return result;
    }

    private static int Compare(Money left, Money right)
    {
        SameCurrency(left, right);
        return left.AmountMinor.CompareTo(right.AmountMinor);
    }

    private static Currency SameCurrency(Money left, Money right)
    {
        if (left.Currency != right.Currency)
        {
            throw new InvalidOperationException(
                $"Cannot combine {left.Currency.Code} with {right.Currency.Code}: money of different currencies never mixes.");
        }

        return left.Currency;
    }
}

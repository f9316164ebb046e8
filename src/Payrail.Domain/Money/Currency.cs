using System.Diagnostics.CodeAnalysis;

namespace Payrail.Domain.Money;

/// <summary>
/// An ISO 4217 currency that a payment can be made in. Instances come only from the
/// <see cref="Iso4217"/> table, so an unknown or non-chargeable code can never reach a flow.
/// </summary>
public sealed record Currency
{
    /// <summary>Alphabetic code, uppercase, e.g. "USD".</summary>
    public string Code { get; }

    /// <summary>ISO 4217 numeric code, e.g. 840 for USD.</summary>
    public int NumericCode { get; }

    /// <summary>Minor-unit digits: 2 for USD, 0 for JPY, 3 for KWD, 4 for CLF.</summary>
    public int Exponent { get; }

    internal Currency(string code, int numericCode, int exponent)
    {
        Code = code;
        NumericCode = numericCode;
        Exponent = exponent;
    }

    /// <summary>Every chargeable currency in the table, ordered by code.</summary>
    public static IReadOnlyList<Currency> All => Iso4217.All;

    /// <summary>Case-insensitive lookup; false for unknown, withdrawn and non-chargeable codes.</summary>
    public static bool TryFromCode(string? code, [NotNullWhen(true)] out Currency? currency)
    {
        currency = null;
        if (code is null || code.Length != 3)
        {
            return false;
        }

        return Iso4217.ByCode.TryGetValue(code, out currency);
    }

    /// <summary>Lookup for codes known to be valid (configuration, tests); throws otherwise.</summary>
    public static Currency FromCode(string code) =>
        TryFromCode(code, out var currency)
            ? currency
            : throw new ArgumentException($"'{code}' is not a chargeable ISO 4217 currency.", nameof(code));

    public static Currency USD => FromCode("USD");
    public static Currency EUR => FromCode("EUR");
    public static Currency GBP => FromCode("GBP");
    public static Currency JPY => FromCode("JPY");
    public static Currency KWD => FromCode("KWD");

    public override string ToString() => Code;
}

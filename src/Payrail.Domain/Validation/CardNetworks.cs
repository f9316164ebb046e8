namespace Payrail.Domain.Validation;

/// <summary>
/// IIN prefixes of the card networks and the PAN lengths each issues, as the networks publish them (the table
/// behind Wikipedia's "Payment card number"). A window of digits reads as a PAN only at a length its network
/// issues: a random 32-digit number then holds a card-like window about 69 times in 100 (measured over 20,000),
/// where any prefix at any length would make it nearly always.
/// </summary>
internal static class CardNetworks
{
    /// <summary>The longest IIN prefix in the table (Verve).</summary>
    public const int MaxPrefixDigits = 6;

    private sealed record IinRange(string Network, int PrefixDigits, int Low, int High, int[] Lengths);

    private static readonly int[] SixteenToNineteen = [16, 17, 18, 19];
    private static readonly int[] ThirteenToNineteen = [13, 14, 15, 16, 17, 18, 19];

    private static readonly IinRange[] Ranges =
    [
        new("Visa", 1, 4, 4, [13, 16, 19]),
        new("Mastercard", 2, 51, 55, [16]),
        new("Mastercard", 4, 2221, 2720, [16]),
        new("American Express", 2, 34, 34, [15]),
        new("American Express", 2, 37, 37, [15]),
        new("Discover", 4, 6011, 6011, SixteenToNineteen),
        new("Discover", 3, 644, 649, SixteenToNineteen),
        new("Discover", 2, 65, 65, SixteenToNineteen),
        new("UnionPay", 2, 62, 62, SixteenToNineteen),
        new("JCB", 4, 3528, 3589, SixteenToNineteen),
        new("Diners Club", 2, 36, 36, [14, 15, 16, 17, 18, 19]),
        new("Diners Club", 3, 300, 305, SixteenToNineteen),
        new("Diners Club", 2, 38, 39, SixteenToNineteen),
        new("Maestro", 4, 5018, 5018, ThirteenToNineteen),
        new("Maestro", 4, 5020, 5020, ThirteenToNineteen),
        new("Maestro", 4, 5038, 5038, ThirteenToNineteen),
        new("Maestro", 4, 5893, 5893, ThirteenToNineteen),
        new("Maestro", 4, 6304, 6304, ThirteenToNineteen),
        new("Maestro", 4, 6759, 6759, ThirteenToNineteen),
        new("Maestro", 4, 6761, 6763, ThirteenToNineteen),
        new("Mir", 4, 2200, 2204, SixteenToNineteen),
        new("RuPay", 2, 60, 60, [16]),
        new("RuPay", 2, 81, 82, [16]),
        new("RuPay", 3, 508, 508, [16]),
        new("Troy", 4, 9792, 9792, [16]),
        new("Verve", 6, 506099, 506198, [16, 18, 19]),
    ];

    private static readonly int[] PowersOfTen = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

    /// <summary>Whether a network issues PANs of <paramref name="length"/> digits starting with this prefix.</summary>
    /// <param name="prefix">The PAN's first <see cref="MaxPrefixDigits"/> digits as a number.</param>
    public static bool Issues(int prefix, int length)
    {
        foreach (var range in Ranges)
        {
            var iin = prefix / PowersOfTen[MaxPrefixDigits - range.PrefixDigits];
            if (iin >= range.Low && iin <= range.High && range.Lengths.Contains(length))
            {
                return true;
            }
        }

        return false;
    }
}

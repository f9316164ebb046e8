namespace Payrail.Domain.Validation;

/// <summary>
/// Finds raw card numbers (PANs) in free text so a request holding one is refused: Payrail
/// accepts only PSP tokens, and a PAN in our database or logs would put us in PCI scope.
/// </summary>
public static class CardNumberDetector
{
    private const int MinPanDigits = 13;
    private const int MaxPanDigits = 19;
    public const int MaxTextChars = 64 * 1024;

    /// <summary>
    /// True when the text holds a run of 13–19 ASCII digits, optionally grouped by single spaces
    /// or dashes ("4242 4242 4242 4242", "5555-5555-5555-4444"), whose Luhn check passes.
    /// A run is maximal: any other character (or a doubled separator) ends it, and runs longer
    /// than 19 digits are not cards (order numbers, hashes), so they are not searched inside.
    /// </summary>
    public static bool ContainsCardNumber(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        Span<byte> digits = stackalloc byte[MaxPanDigits + 1];
        var count = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsAsciiDigit(c))
            {
                // Count past 19 only to know the run is too long; store at most 20 digits.
                if (count <= MaxPanDigits)
                {
                    digits[count] = (byte)(c - '0');
                }

                count++;
                continue;
            }

            var joinsGroups = (c == ' ' || c == '-') && count > 0
                && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1]);
            if (joinsGroups)
            {
                continue;
            }

            if (IsCardNumber(digits, count))
            {
                return true;
            }

            count = 0;
        }

        return IsCardNumber(digits, count);
    }

    private static bool IsCardNumber(ReadOnlySpan<byte> digits, int count) =>
        count is >= MinPanDigits and <= MaxPanDigits && PassesLuhn(digits[..count]);

    /// <summary>Luhn (ISO/IEC 7812-1): double every second digit from the right.</summary>
    internal static bool PassesLuhn(ReadOnlySpan<byte> digits)
    {
        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            int digit = digits[digits.Length - 1 - i];
            if (i % 2 == 1)
            {
                digit *= 2;
                if (digit > 9)
                {
                    digit -= 9;
                }
            }

            sum += digit;
        }

        return sum % 10 == 0;
    }
}

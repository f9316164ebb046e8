using System.Globalization;

namespace Payrail.Domain.Validation;

/// <summary>
/// Finds raw card numbers (PANs) in free text so a request holding one is refused: Payrail
/// accepts only PSP tokens, and a PAN in our database or logs would put us in PCI scope.
/// </summary>
/// <remarks>
/// <para>The rule. Text is read as runs: a run is digits joined by any number of separators. Every window of 13–19
/// consecutive digits of a run (separators ignored) is a card number when it passes Luhn and starts with the IIN
/// prefix of a card network at a length that network issues (<see cref="CardNetworks"/>). So a PAN is found with a
/// CVV or an expiry glued to it, and a 32-digit order id is refused only if one of its windows looks like a PAN.</para>
/// <para>Digits are every character whose Unicode digit value is 0–9: ASCII, full-width, every script's decimal
/// digits, mathematical, superscript, subscript, circled. That is what NFKC folds to one ASCII digit (all 100 such
/// characters, checked against Unicode 14's NFKC table) plus the decimal digits NFKC keeps. NFKC itself is not
/// called: under InvariantGlobalization <c>string.Normalize</c> leaves non-ASCII text unchanged. Not read as
/// digits: the characters that stand for whole numbers 10 and above (⑩, ⒛, ½).</para>
/// <para>Separators are what people put between digit groups and their look-alikes: every Unicode space and line
/// break, every dash ('-', '‐', '–', '－'), '_' and its forms, '.', '/', the forms NFKC folds to them ('．', '／',
/// '․', '﹒'), '⁄', '∕' and '−'. Invisible format characters (zero-width space, soft hyphen, BOM) are skipped the
/// same way. Anything else, such as a letter or a comma, ends the run.</para>
/// <para>Hex identifiers are not numbers: a stretch of ASCII hex digits and dashes holding at least
/// <see cref="MinIdentifierHexDigits"/> hex digits, one of them a letter (a UUID, the Idempotency-Key we recommend,
/// or a hash), is skipped whole. Joining a UUID's digit groups across its dashes made about one random UUID in 800
/// look like a card.</para>
/// <para>The work is linear: each character is looked at a bounded number of times (at most twice for the hex
/// identifier check, and each digit ends at most 7 windows, whose Luhn sums share one pass over the last 19 digits).
/// No regular expression, no allocation.</para>
/// </remarks>
public static class CardNumberDetector
{
    private const int MinPanDigits = 13;
    private const int MaxPanDigits = 19;
    private const int MinIdentifierHexDigits = 32;

    /// <summary>Longest text searched: the API's 64 KiB body bound keeps every string in a request below it.</summary>
    public const int MaxTextChars = 64 * 1024;

    /// <summary>True when the text holds a card number by the rule above.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The text is longer than <see cref="MaxTextChars"/>: a caller
    /// must bound its input first.</exception>
    public static bool ContainsCardNumber(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan(text.Length, MaxTextChars, nameof(text));

        // The run's last 19 digits, in a ring: digit k of the run is at k % 19.
        Span<byte> lastDigits = stackalloc byte[MaxPanDigits];
        var runDigits = 0;
        var identifiersCheckedTo = 0;
        var i = 0;
        while (i < text.Length)
        {
            if (i >= identifiersCheckedTo)
            {
                var end = HexStretchEnd(text, i, out var isIdentifier);
                if (isIdentifier)
                {
                    runDigits = 0;
                    i = identifiersCheckedTo = end;
                    continue;
                }

                identifiersCheckedTo = Math.Max(end, i + 1);
            }

            var digit = CharUnicodeInfo.GetDigitValue(text, i);
            if (digit >= 0)
            {
                lastDigits[runDigits % MaxPanDigits] = (byte)digit;
                runDigits++;
                if (EndsWithCardNumber(lastDigits, runDigits))
                {
                    return true;
                }
            }
            else if (!JoinsDigits(text, i))
            {
                runDigits = 0;
            }

            i += char.IsSurrogatePair(text, i) ? 2 : 1;
        }

        return false;
    }

    /// <summary>
    /// Whether a window of 13–19 digits ending at the run's last digit is a card number. Luhn doubles every second
    /// digit from the right, so the windows that share their last digit share one running sum.
    /// </summary>
    private static bool EndsWithCardNumber(ReadOnlySpan<byte> lastDigits, int runDigits)
    {
        var longest = Math.Min(runDigits, MaxPanDigits);
        var sum = 0;
        for (var length = 1; length <= longest; length++)
        {
            int digit = lastDigits[(runDigits - length) % MaxPanDigits];
            if (length % 2 == 0)
            {
                digit *= 2;
                if (digit > 9)
                {
                    digit -= 9;
                }
            }

            sum += digit;
            if (length >= MinPanDigits && sum % 10 == 0
                && CardNetworks.Issues(Prefix(lastDigits, runDigits - length), length))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The first <see cref="CardNetworks.MaxPrefixDigits"/> digits of the window starting at run digit <paramref name="start"/>.</summary>
    private static int Prefix(ReadOnlySpan<byte> lastDigits, int start)
    {
        var prefix = 0;
        for (var k = 0; k < CardNetworks.MaxPrefixDigits; k++)
        {
            prefix = prefix * 10 + lastDigits[(start + k) % MaxPanDigits];
        }

        return prefix;
    }

    private static bool JoinsDigits(string text, int index)
    {
        var c = text[index];
        if (char.IsWhiteSpace(c) || c is '.' or '/' or '\u2024' or '\uFE52' or '\uFF0E' or '\uFF0F' or '\u2044' or '\u2215' or '\u2212')
        {
            return true;
        }

        return CharUnicodeInfo.GetUnicodeCategory(text, index)
            is UnicodeCategory.DashPunctuation or UnicodeCategory.ConnectorPunctuation or UnicodeCategory.Format;
    }

    /// <summary>
    /// The end of the stretch of ASCII hex digits and dashes starting at <paramref name="start"/> (the start itself
    /// when none starts there), and whether it is a hex identifier. Called only where no stretch was measured yet,
    /// so every character is scanned here at most once.
    /// </summary>
    private static int HexStretchEnd(string text, int start, out bool isIdentifier)
    {
        var hexDigits = 0;
        var hexLetters = 0;
        var end = start;
        for (; end < text.Length && (char.IsAsciiHexDigit(text[end]) || text[end] == '-'); end++)
        {
            if (text[end] == '-')
            {
                continue;
            }

            hexDigits++;
            if (!char.IsAsciiDigit(text[end]))
            {
                hexLetters++;
            }
        }

        isIdentifier = hexDigits >= MinIdentifierHexDigits && hexLetters > 0;
        return end;
    }

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

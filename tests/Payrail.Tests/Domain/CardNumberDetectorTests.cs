using Xunit;
using Payrail.Domain.Validation;

namespace Payrail.Tests.Domain;

public sealed class CardNumberDetectorTests
{
    [Theory]
    [InlineData("4242424242424242")]
    [InlineData("4242 4242 4242 4242")]
    [InlineData("5555-5555-5555-4444")]
    [InlineData("378282246310005")] // Amex, 15 digits
    [InlineData("3782 822463 10005")]
    [InlineData("6011111111111117")] // Discover
    [InlineData("4000056655665556")] // Visa debit
    [InlineData("4222222222222")] // 13-digit Visa
    [InlineData("6200000000000000000")] // 19 digits (UnionPay length)
    [InlineData("card: 4242424242424242, exp 12/30")]
    [InlineData("tok_4242424242424242")]
    [InlineData("{\"note\":\"4242-4242-4242-4242\"}")]
    [InlineData("first 1234 then 4242 4242 4242 4242")]
    public void Real_test_pans_are_found(string text)
    {
        Assert.True(CardNumberDetector.ContainsCardNumber(text));
    }

    /// <summary>Issue 7, defect 4: each of these went through the detector and was stored, returned and sent to the PSP.</summary>
    [Theory]
    [InlineData("4242 4242 4242 4242 123")] // followed by the CVV
    [InlineData("4242424242424242123")]
    [InlineData("4242 4242 4242 4242 12/30")] // followed by the expiry
    [InlineData("4242424242424242 12/30 123")]
    [InlineData("1230 4242 4242 4242 4242")] // preceded by the expiry
    [InlineData("42424242424242424242")] // a PAN and four more digits
    [InlineData("ref 0042424242424242424200")]
    [InlineData("4242\u00A04242\u00A04242\u00A04242")] // no-break space
    [InlineData("4242\u202F4242\u202F4242\u202F4242")] // narrow no-break space
    [InlineData("4242\u20074242\u20074242\u20074242")] // figure space
    [InlineData("4242\u30004242\u30004242\u30004242")] // ideographic space
    [InlineData("4242\t4242\n4242\r\n4242")]
    [InlineData("4242.4242.4242.4242")]
    [InlineData("4242/4242/4242/4242")]
    [InlineData("4242_4242_4242_4242")]
    [InlineData("4242\u20134242\u20134242\u20134242")] // en dash
    [InlineData("4242\u20114242\u20114242\u20114242")] // non-breaking hyphen
    [InlineData("4242\uFF0E4242\uFF0F4242\uFF0D4242")] // full-width '.', '/', '-'
    [InlineData("4242  4242  4242  4242")] // doubled separators
    [InlineData("4242--4242--4242--4242")]
    [InlineData("4242 - 4242 - 4242 - 4242")]
    [InlineData("4242\u200B4242\u200B4242\u200B4242")] // zero-width space
    [InlineData("4242\u00AD4242\u00AD4242\u00AD4242")] // soft hyphen
    [InlineData("\uFF14\uFF12\uFF14\uFF12\uFF14\uFF12\uFF14\uFF12\uFF14\uFF12\uFF14\uFF12\uFF14\uFF12\uFF14\uFF12")] // full-width
    [InlineData("\uFF14\uFF12\uFF14\uFF12\u3000\uFF14\uFF12\uFF14\uFF12\u3000\uFF14\uFF12\uFF14\uFF12\u3000\uFF14\uFF12\uFF14\uFF12")]
    [InlineData("\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662")] // Arabic-Indic
    [InlineData("\u096A\u0968\u096A\u0968\u096A\u0968\u096A\u0968\u096A\u0968\u096A\u0968\u096A\u0968\u096A\u0968")] // Devanagari
    [InlineData("\U0001D7D2\U0001D7D0\U0001D7D2\U0001D7D0\U0001D7D2\U0001D7D0\U0001D7D2\U0001D7D0\U0001D7D2\U0001D7D0\U0001D7D2\U0001D7D0\U0001D7D2\U0001D7D0\U0001D7D2\U0001D7D0")] // mathematical bold
    [InlineData("\u2074\u00B2\u2074\u00B2\u2074\u00B2\u2074\u00B2\u2074\u00B2\u2074\u00B2\u2074\u00B2\u2074\u00B2")] // superscript
    [InlineData("\u2463\u2461\u2463\u2461 \u2463\u2461\u2463\u2461 \u2463\u2461\u2463\u2461 \u2463\u2461\u2463\u2461")] // circled
    [InlineData("42\uFF14\uFF12 \u0664\u0662\u0664\u0662 4242 4242")] // mixed scripts
    public void Card_numbers_hidden_by_trailing_digits_separators_or_other_digit_forms_are_found(string text)
    {
        Assert.True(CardNumberDetector.ContainsCardNumber(text), Escape(text));
    }

    [Theory]
    [InlineData("4242424242424241")] // Luhn fails
    [InlineData("4242 4242 4242 4241")]
    [InlineData("424242424242")] // 12 digits: too short for a PAN
    [InlineData("0000000000000")] // passes Luhn, but no card network issues numbers starting with 0
    [InlineData("1000000000009")] // passes Luhn, prefix 1 (airline UATP) is not a payment card Payrail's PSP accepts
    [InlineData("96245957117777412154728038528084")] // a 32-digit order id: no window has a card prefix and passes Luhn
    [InlineData("order 97299752882001826330434839548620")]
    [InlineData("33401878017598983478")] // 20 digits, no card-like window
    [InlineData("tok_visa")]
    [InlineData("pm_1N2b3c4d5e6f")]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("123e4567-e89b-12d3-a456-426614174000")]
    [InlineData("order 550e8400-e29b-41d4-a716-446655440000 shipped")]
    [InlineData("amount 2000 USD")]
    [InlineData("2026-11-30T19:45:00Z")]
    [InlineData("+1 (415) 555-0100")]
    [InlineData("4242, 4242, 4242, 4242")] // commas and their spaces end a run: a list, not a number
    public void Near_misses_are_not_cards(string? text)
    {
        Assert.False(CardNumberDetector.ContainsCardNumber(text));
    }

    /// <summary>
    /// Hex identifiers (UUIDs, the Idempotency-Key format we recommend, and hashes) are not numbers: joining their digit
    /// groups across dashes made about 1 random UUID in 800 look like a card (measured over 300,000).
    /// </summary>
    [Fact]
    public void Uuids_and_hex_hashes_are_never_cards()
    {
        var random = new Random(20261130);
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = new byte[32];
            random.NextBytes(bytes);
            var uuid = new Guid(bytes.AsSpan(0, 16));
            foreach (var text in new[] { uuid.ToString(), uuid.ToString("N"), uuid.ToString("B").ToUpperInvariant(), Convert.ToHexStringLower(bytes) })
            {
                Assert.False(CardNumberDetector.ContainsCardNumber(text), text);
                Assert.False(CardNumberDetector.ContainsCardNumber($"order-{text}"), text);
            }
        }
    }

    [Fact]
    public void A_pan_next_to_a_uuid_is_still_found()
    {
        Assert.True(CardNumberDetector.ContainsCardNumber("550e8400-e29b-41d4-a716-446655440000 4242 4242 4242 4242"));
    }

    [Fact]
    public void A_lone_surrogate_ends_a_run_and_never_throws()
    {
        Assert.True(CardNumberDetector.ContainsCardNumber("4242424242424242\uD800"));
        Assert.False(CardNumberDetector.ContainsCardNumber("42424242\uDC0042424242"));
        Assert.False(CardNumberDetector.ContainsCardNumber("\uDC00\uD800"));
    }

    [Fact]
    public void Every_single_digit_change_of_a_pan_fails_luhn()
    {
        const string pan = "4242424242424242";
        foreach (var changed in SingleDigitChanges(pan))
        {
            Assert.False(CardNumberDetector.PassesLuhn(changed.Select(c => (byte)(c - '0')).ToArray()), changed);
        }
    }

    /// <summary>
    /// A mistyped Visa number may still hold a Luhn-valid 13-digit Visa window (4142424242424 in 4142424242424242),
    /// so the detector-level check uses a number whose shorter windows have no card prefix.
    /// </summary>
    [Fact]
    public void Every_single_digit_change_of_a_mastercard_pan_is_not_a_card()
    {
        foreach (var changed in SingleDigitChanges("5555555555554444"))
        {
            Assert.False(CardNumberDetector.ContainsCardNumber(changed), changed);
        }
    }

    [Fact]
    public void Text_longer_than_the_bound_is_refused_as_a_caller_bug()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            CardNumberDetector.ContainsCardNumber(new string('1', CardNumberDetector.MaxTextChars + 1)));
    }

    private static IEnumerable<string> SingleDigitChanges(string pan)
    {
        for (var i = 0; i < pan.Length; i++)
        {
            for (var d = '0'; d <= '9'; d++)
            {
                if (d != pan[i]) yield return pan[..i] + d + pan[(i + 1)..];
            }
        }
    }

    private static string Escape(string text) => string.Concat(text.Select(c => c < 128 ? c.ToString() : $"\\u{(int)c:X4}"));
}

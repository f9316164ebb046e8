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

    [Theory]
    [InlineData("4242424242424241")] // Luhn fails
    [InlineData("4242 4242 4242 4241")]
    [InlineData("424242424242")] // 12 digits: too short for a PAN
    [InlineData("42424242424242424242")] // 20 digits: too long
    [InlineData("4242  4242  4242  4242")] // doubled separators split the groups
    [InlineData("4242--4242--4242--4242")]
    [InlineData("4242.4242.4242.4242")] // dots are not card separators
    [InlineData("tok_visa")]
    [InlineData("pm_1N2b3c4d5e6f")]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("123e4567-e89b-12d3-a456-426614174000")]
    [InlineData("amount 2000 USD")]
    public void Near_misses_are_not_cards(string? text)
    {
        Assert.False(CardNumberDetector.ContainsCardNumber(text));
    }

    [Fact]
    public void Thirteen_zeros_pass_luhn_and_are_refused_on_the_safe_side()
    {
        Assert.True(CardNumberDetector.ContainsCardNumber("0000000000000"));
    }

    [Fact]
    public void Every_single_digit_change_of_a_pan_is_caught_by_luhn()
    {
        const string pan = "4242424242424242";
        for (var i = 0; i < pan.Length; i++)
        {
            for (var d = '0'; d <= '9'; d++)
            {
                if (d == pan[i])
                {
                    continue;
                }

                var changed = pan[..i] + d + pan[(i + 1)..];
                Assert.False(CardNumberDetector.ContainsCardNumber(changed), changed);
            }
        }
    }
}

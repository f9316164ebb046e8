using Xunit;
using CsCheck;
using Payrail.Domain.Money;

namespace Payrail.Tests.Domain;

public sealed class MoneyTests
{
    private static readonly Currency Usd = Currency.USD;
    private static readonly Currency Jpy = Currency.JPY;
    private static readonly Currency Kwd = Currency.KWD;

    [Theory]
    [InlineData(2000, "USD", "20.00 USD")]
    [InlineData(5, "USD", "0.05 USD")]
    [InlineData(0, "USD", "0.00 USD")]
    [InlineData(-5, "EUR", "-0.05 EUR")]
    [InlineData(1000, "JPY", "1000 JPY")]
    [InlineData(1234, "KWD", "1.234 KWD")]
    [InlineData(1, "KWD", "0.001 KWD")]
    [InlineData(12345, "CLF", "1.2345 CLF")]
    [InlineData(99_999_999, "USD", "999999.99 USD")]
    [InlineData(long.MaxValue, "USD", "92233720368547758.07 USD")]
    [InlineData(long.MinValue, "USD", "-92233720368547758.08 USD")]
    public void Format_writes_minor_units_with_the_currency_exponent(long amountMinor, string code, string expected)
    {
        Assert.Equal(expected, new Money(amountMinor, Currency.FromCode(code)).Format());
    }

    [Theory]
    [InlineData("20.00", "USD", 2000)]
    [InlineData("20.5", "USD", 2050)]
    [InlineData("20", "USD", 2000)]
    [InlineData("0.01", "USD", 1)]
    [InlineData("0", "USD", 0)]
    [InlineData("1000", "JPY", 1000)]
    [InlineData("1.234", "KWD", 1234)]
    [InlineData("1.2", "KWD", 1200)]
    [InlineData("1.2345", "CLF", 12345)]
    [InlineData("92233720368547758.07", "USD", long.MaxValue)]
    public void TryParse_reads_strict_decimal_amounts(string text, string code, long expectedMinor)
    {
        var currency = Currency.FromCode(code);

        Assert.True(Money.TryParse(text, currency, out var money));
        Assert.Equal(new Money(expectedMinor, currency), money);
    }

    [Theory]
    [InlineData("20.001", "USD")] // more fraction digits than the exponent
    [InlineData("1000.0", "JPY")] // zero-decimal currency takes no fraction at all
    [InlineData("1.", "JPY")]
    [InlineData("1.2345", "KWD")]
    [InlineData("20.", "USD")]
    [InlineData(".50", "USD")]
    [InlineData("-1.00", "USD")]
    [InlineData("+1.00", "USD")]
    [InlineData("1e3", "USD")]
    [InlineData("1E3", "JPY")]
    [InlineData("1,000.00", "USD")]
    [InlineData("1 000", "JPY")]
    [InlineData("1_000", "JPY")]
    [InlineData(" 1.00", "USD")]
    [InlineData("1.00 ", "USD")]
    [InlineData("1..0", "USD")]
    [InlineData("1.0.0", "USD")]
    [InlineData("", "USD")]
    [InlineData(null, "USD")]
    [InlineData("NaN", "USD")]
    [InlineData("Infinity", "USD")]
    [InlineData("٣", "JPY")] // Arabic-Indic digit: only ASCII digits are money
    [InlineData("92233720368547758.08", "USD")] // one past long.MaxValue minor units
    [InlineData("9223372036854775808", "JPY")]
    [InlineData("99999999999999999999999", "JPY")]
    public void TryParse_refuses_anything_not_strict(string? text, string code)
    {
        Assert.False(Money.TryParse(text, Currency.FromCode(code), out var money));
        Assert.Equal(default, money);
    }

    [Fact]
    public void Format_then_parse_round_trips_for_every_currency()
    {
        Gen.Select(Gen.Long[0, long.MaxValue], Gen.Int[0, Currency.All.Count - 1])
            .Sample((amount, index) =>
            {
                var money = new Money(amount, Currency.All[index]);
                var text = money.Format();
                var number = text[..text.IndexOf(' ')];

                Assert.True(Money.TryParse(number, money.Currency, out var parsed));
                Assert.Equal(money, parsed);
            }, iter: 2000);
    }

    [Fact]
    public void Addition_and_subtraction_work_in_one_currency()
    {
        var a = new Money(1050, Usd);
        var b = new Money(250, Usd);

        Assert.Equal(new Money(1300, Usd), a + b);
        Assert.Equal(new Money(800, Usd), a - b);
        Assert.Equal(new Money(-1050, Usd), -a);
        Assert.Equal(new Money(3150, Usd), a.Times(3));
        Assert.True(a > b);
        Assert.True(b < a);
        Assert.True(a >= new Money(1050, Usd) && a <= new Money(1050, Usd));
    }

    [Fact]
    public void Mixing_currencies_throws()
    {
        var usd = new Money(100, Usd);
        var jpy = new Money(100, Jpy);

        Assert.Throws<InvalidOperationException>(() => usd + jpy);
        Assert.Throws<InvalidOperationException>(() => usd - jpy);
        Assert.Throws<InvalidOperationException>(() => usd < jpy);
    }

    [Fact]
    public void Overflow_throws_instead_of_wrapping()
    {
        var max = new Money(long.MaxValue, Kwd);
        var min = new Money(long.MinValue, Kwd);
        var one = new Money(1, Kwd);

        Assert.Throws<OverflowException>(() => max + one);
        Assert.Throws<OverflowException>(() => min - one);
        Assert.Throws<OverflowException>(() => -min);
        Assert.Throws<OverflowException>(() => max.Times(2));
    }

    [Fact]
    public void Equality_is_by_amount_and_currency()
    {
        Assert.Equal(new Money(100, Usd), new Money(100, Currency.FromCode("usd")));
        Assert.NotEqual(new Money(100, Usd), new Money(100, Currency.EUR));
        Assert.NotEqual(new Money(100, Usd), new Money(101, Usd));
    }

    [Fact]
    public void Default_money_has_no_currency_and_says_so()
    {
        Money money = default;

        Assert.Throws<InvalidOperationException>(() => money.Currency);
        Assert.Throws<ArgumentNullException>(() => new Money(1, null!));
    }

    [Fact]
    public void Single_payment_limit_is_stripes_eight_digits_in_every_currency()
    {
        Assert.All(Currency.All, c => Assert.Equal(99_999_999, MoneyLimits.MaxAmountMinor(c)));
        Assert.True(MoneyLimits.IsChargeable(99_999_999, Usd));
        Assert.False(MoneyLimits.IsChargeable(100_000_000, Usd));
        Assert.False(MoneyLimits.IsChargeable(0, Usd));
        Assert.False(MoneyLimits.IsChargeable(-1, Usd));
        Assert.True(MoneyLimits.IsChargeable(1, Jpy));
    }
}

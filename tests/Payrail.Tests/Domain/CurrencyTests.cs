using Xunit;
using Payrail.Domain.Money;

namespace Payrail.Tests.Domain;

public sealed class CurrencyTests
{
    [Theory]
    [InlineData("USD", 840, 2)]
    [InlineData("EUR", 978, 2)]
    [InlineData("GBP", 826, 2)]
    [InlineData("JPY", 392, 0)]
    [InlineData("KRW", 410, 0)]
    [InlineData("VND", 704, 0)]
    [InlineData("CLP", 152, 0)]
    [InlineData("XOF", 952, 0)]
    [InlineData("BHD", 48, 3)]
    [InlineData("KWD", 414, 3)]
    [InlineData("OMR", 512, 3)]
    [InlineData("JOD", 400, 3)]
    [InlineData("TND", 788, 3)]
    [InlineData("IQD", 368, 3)]
    [InlineData("LYD", 434, 3)]
    [InlineData("CLF", 990, 4)]
    [InlineData("UYW", 927, 4)]
    [InlineData("ALL", 8, 2)]
    [InlineData("ZWG", 924, 2)]
    [InlineData("XCG", 532, 2)]
    [InlineData("SLE", 925, 2)]
    public void Known_currency_has_its_iso_numeric_code_and_exponent(string code, int numeric, int exponent)
    {
        var currency = Currency.FromCode(code);

        Assert.Equal(code, currency.Code);
        Assert.Equal(numeric, currency.NumericCode);
        Assert.Equal(exponent, currency.Exponent);
    }

    [Theory]
    [InlineData("usd")]
    [InlineData("Usd")]
    [InlineData("uSD")]
    public void Lookup_ignores_case_and_returns_uppercase_code(string code)
    {
        Assert.True(Currency.TryFromCode(code, out var currency));
        Assert.Equal("USD", currency.Code);
        Assert.Same(Currency.USD, currency);
    }

    [Theory]
    [InlineData("XAU")]
    [InlineData("XAG")]
    [InlineData("XPT")]
    [InlineData("XPD")]
    [InlineData("XTS")]
    [InlineData("XXX")]
    [InlineData("XBA")]
    [InlineData("XBB")]
    [InlineData("XBC")]
    [InlineData("XBD")]
    [InlineData("XDR")]
    [InlineData("XSU")]
    [InlineData("XUA")]
    public void Metals_units_and_testing_codes_cannot_be_charged(string code)
    {
        Assert.False(Currency.TryFromCode(code, out _));
    }

    [Theory]
    [InlineData("HRK")]
    [InlineData("SLL")]
    [InlineData("ZWL")]
    [InlineData("ANG")]
    [InlineData("ABC")]
    [InlineData("US")]
    [InlineData("USDD")]
    [InlineData(" USD")]
    [InlineData("")]
    [InlineData(null)]
    public void Unknown_or_withdrawn_codes_are_refused(string? code)
    {
        Assert.False(Currency.TryFromCode(code, out var currency));
        Assert.Null(currency);
    }

    [Fact]
    public void FromCode_throws_for_unknown_code()
    {
        Assert.Throws<ArgumentException>(() => Currency.FromCode("XAU"));
    }

    [Fact]
    public void Table_is_the_full_active_list()
    {
        // ISO 4217 List One has ~180 entries; less means someone shipped "a handful".
        Assert.InRange(Currency.All.Count, 150, 190);
    }

    [Fact]
    public void Table_has_unique_codes_and_numeric_codes()
    {
        Assert.Equal(Currency.All.Count, Currency.All.Select(c => c.Code).Distinct().Count());
        Assert.Equal(Currency.All.Count, Currency.All.Select(c => c.NumericCode).Distinct().Count());
    }

    [Fact]
    public void Table_codes_are_three_uppercase_letters_with_valid_exponents()
    {
        Assert.All(Currency.All, c =>
        {
            Assert.Matches("^[A-Z]{3}$", c.Code);
            Assert.InRange(c.NumericCode, 1, 999);
            Assert.Contains(c.Exponent, new[] { 0, 2, 3, 4 });
        });
    }

    [Fact]
    public void Zero_decimal_and_three_decimal_sets_are_exactly_iso()
    {
        var zero = Currency.All.Where(c => c.Exponent == 0).Select(c => c.Code).Order();
        var three = Currency.All.Where(c => c.Exponent == 3).Select(c => c.Code).Order();
        var four = Currency.All.Where(c => c.Exponent == 4).Select(c => c.Code).Order();

        Assert.Equal(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"], zero);
        Assert.Equal(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], three);
        Assert.Equal(["CLF", "UYW"], four);
    }

    [Fact]
    public void Currencies_compare_by_value()
    {
        Assert.Equal(Currency.FromCode("usd"), Currency.USD);
        Assert.NotEqual(Currency.USD, Currency.EUR);
        Assert.Equal("USD", Currency.USD.ToString());
    }
}

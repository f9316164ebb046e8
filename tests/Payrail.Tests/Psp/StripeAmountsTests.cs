using Payrail.Domain.Money;
using Payrail.Psp;
using Payrail.Psp.Stripe;
using Stripe;
using Xunit;

namespace Payrail.Tests.Psp;

/// <summary>ISO 4217 minor units ↔ Stripe's unit (docs.stripe.com/currencies): exact both ways, or refused.</summary>
public sealed class StripeAmountsTests
{
    public static TheoryData<string, long, long> Exact => new()
    {
        // Stripe keeps ISK and UGX two-decimal with whole units only; ISO says exponent 0.
        { "ISK", 5_000, 500_000 },
        { "ISK", 1, 100 },
        { "UGX", 1_000, 100_000 },
        // MGA is ISO exponent 2 but Stripe zero-decimal.
        { "MGA", 100_000, 1_000 },
        { "MGA", 100, 1 },
        // Zero-decimal on both sides.
        { "JPY", 500, 500 },
        { "KRW", 50, 50 },
        { "CLP", 1_234, 1_234 },
        { "XOF", 700, 700 },
        // Two-decimal on both sides; HUF and TWD are special for payouts only.
        { "USD", 1_999, 1_999 },
        { "EUR", 50, 50 },
        { "HUF", 17_545, 17_545 },
        { "TWD", 80_045, 80_045 },
        // Three-decimal on both sides, last digit 0.
        { "KWD", 5_120, 5_120 },
        { "BHD", 10, 10 },
        { "JOD", 1_000, 1_000 },
        { "OMR", 990, 990 },
        { "TND", 12_340, 12_340 },
    };

    [Theory]
    [MemberData(nameof(Exact))]
    public void Amount_converts_to_Stripes_unit_and_back_exactly(string currency, long isoMinor, long stripeAmount)
    {
        Assert.Equal(stripeAmount, StripeAmounts.ToStripe(isoMinor, currency));
        Assert.Equal(isoMinor, StripeAmounts.ToIso(stripeAmount, currency.ToLowerInvariant()));
    }

    [Theory]
    [InlineData("MGA", 12_345)] // 123.45 MGA: Stripe counts whole ariary
    [InlineData("MGA", 1)]
    [InlineData("KWD", 5_124)] // Stripe wants the last of three decimals to be 0
    [InlineData("BHD", 1)]
    [InlineData("JOD", 9)]
    [InlineData("OMR", 1_001)]
    [InlineData("TND", 12_345)]
    public void Amount_without_an_exact_Stripe_value_is_refused_not_rounded(string currency, long isoMinor)
    {
        Assert.Throws<StripeAmountException>(() => StripeAmounts.ToStripe(isoMinor, currency));
        Assert.Equal(PspAmountCheck.NotRepresentable, StripeAmounts.Check(isoMinor, currency));
    }

    [Theory]
    [InlineData("isk", 550)] // 5.50 kr: ISO 4217 has no fractions of a króna
    [InlineData("isk", 1)]
    [InlineData("ugx", 101)]
    [InlineData("isk", -150)] // a refund line is negative and must be exact too
    public void Stripe_answer_without_an_exact_ISO_value_is_refused(string currency, long stripeAmount)
    {
        Assert.Throws<StripeAmountException>(() => StripeAmounts.ToIso(stripeAmount, currency));
    }

    [Theory]
    [InlineData("isk", -500_000, -5_000)]
    [InlineData("mga", -1_000, -100_000)]
    [InlineData("isk", 0, 0)]
    public void Negative_and_zero_answers_convert_like_any_other(string currency, long stripeAmount, long isoMinor)
    {
        Assert.Equal(isoMinor, StripeAmounts.ToIso(stripeAmount, currency));
    }

    [Fact]
    public void Conversion_that_would_overflow_is_refused()
    {
        Assert.Throws<StripeAmountException>(() => StripeAmounts.ToStripe(long.MaxValue / 10, "ISK"));
        Assert.Throws<StripeAmountException>(() => StripeAmounts.ToIso(long.MaxValue, "mga"));
        Assert.Equal(PspAmountCheck.NotRepresentable, StripeAmounts.Check(long.MaxValue / 10, "ISK"));
    }

    [Theory]
    [InlineData("IQD")] // ISO currencies Stripe does not list
    [InlineData("LYD")]
    [InlineData("CLF")]
    [InlineData("XCG")]
    [InlineData("XYZ")] // not a currency at all
    [InlineData("")]
    public void Currency_Stripe_does_not_charge_in_is_refused(string currency)
    {
        Assert.Equal(PspAmountCheck.CurrencyNotSupported, StripeAmounts.Check(1_000, currency));
        Assert.Throws<StripeAmountException>(() => StripeAmounts.ToStripe(1_000, currency));
        Assert.Throws<StripeAmountException>(() => StripeAmounts.ToIso(1_000, currency.ToLowerInvariant()));
        Assert.Throws<StripeAmountException>(() => StripeAmounts.ToIso(1_000, null));
    }

    [Theory]
    [InlineData("USD", 49, PspAmountCheck.BelowMinimum)]
    [InlineData("USD", 50, PspAmountCheck.Chargeable)]
    [InlineData("GBP", 29, PspAmountCheck.BelowMinimum)]
    [InlineData("GBP", 30, PspAmountCheck.Chargeable)]
    [InlineData("JPY", 49, PspAmountCheck.BelowMinimum)]
    [InlineData("HUF", 17_499, PspAmountCheck.BelowMinimum)]
    [InlineData("HUF", 17_500, PspAmountCheck.Chargeable)]
    [InlineData("MXN", 999, PspAmountCheck.BelowMinimum)]
    [InlineData("ISK", 1, PspAmountCheck.Chargeable)] // no published same-currency minimum
    [InlineData("ISK", 999_999, PspAmountCheck.Chargeable)] // 99,999,900 at Stripe: 8 digits
    [InlineData("ISK", 1_000_000, PspAmountCheck.AboveMaximum)] // 100,000,000 at Stripe: 9 digits
    [InlineData("USD", 99_999_999, PspAmountCheck.Chargeable)]
    [InlineData("MGA", 12_345, PspAmountCheck.NotRepresentable)]
    [InlineData("USD", 0, PspAmountCheck.NotRepresentable)]
    public void Check_applies_Stripes_unit_minimum_and_maximum(string currency, long isoMinor, PspAmountCheck expected)
    {
        Assert.Equal(expected, StripeAmounts.Check(isoMinor, currency));
    }

    [Fact]
    public void Every_ISO_currency_is_either_refused_or_converted_exactly_both_ways()
    {
        var chargeable = 0;
        foreach (var currency in Currency.All)
        {
            var thousandMajorUnits = 1_000 * Pow10(currency.Exponent);
            var check = StripeAmounts.Check(thousandMajorUnits, currency.Code);
            if (check == PspAmountCheck.CurrencyNotSupported) continue;
            Assert.Equal(PspAmountCheck.Chargeable, check);
            var stripeAmount = StripeAmounts.ToStripe(thousandMajorUnits, currency.Code);
            Assert.Equal(thousandMajorUnits, StripeAmounts.ToIso(stripeAmount, currency.Code.ToLowerInvariant()));
            chargeable++;
        }
        Assert.True(chargeable > 100, $"only {chargeable} currencies chargeable at Stripe");
    }

    [Fact]
    public void Stripe_objects_are_mapped_in_ISO_minor_units()
    {
        var intent = new PaymentIntent
        {
            Id = "pi_isk", Status = "succeeded", Amount = 500_000, AmountReceived = 500_000, Currency = "isk",
            LatestCharge = new Charge { Id = "ch_isk", AmountCaptured = 500_000, AmountRefunded = 100_000 },
        };
        var line = new BalanceTransaction { Id = "txn_isk", Type = "charge", Amount = 500_000, Fee = 14_500, Net = 485_500, Currency = "isk" };

        var payment = StripeMapping.ToPayment(intent);
        var settlement = StripeMapping.ToSettlementLine(line);

        Assert.Equal((5_000, 5_000, 1_000), (payment.AmountMinor, payment.AmountCapturedMinor, payment.AmountRefundedMinor));
        Assert.Equal((5_000, 145, 4_855), (settlement.AmountMinor, settlement.FeeMinor, settlement.NetMinor));
    }

    [Fact]
    public void Stripe_object_with_a_fraction_of_a_krona_is_not_mapped()
    {
        var intent = new PaymentIntent { Id = "pi_isk", Status = "succeeded", Amount = 550, AmountReceived = 550, Currency = "isk" };
        var line = new BalanceTransaction { Id = "txn_isk", Type = "charge", Amount = 500_000, Fee = 14_530, Net = 485_470, Currency = "isk" };

        Assert.Throws<StripeAmountException>(() => StripeMapping.ToPayment(intent));
        Assert.Throws<StripeAmountException>(() => StripeMapping.ToSettlementLine(line));
    }

    private static long Pow10(int exponent) => exponent == 0 ? 1 : 10 * Pow10(exponent - 1);
}

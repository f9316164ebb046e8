using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

/// <summary>
/// Stripe's own unit per currency (docs.stripe.com/currencies): ISK and UGX are two-decimal with whole units only,
/// MGA is zero-decimal, three-decimal amounts end in 0, and charges meet Stripe's minimum charge amount.
/// </summary>
public sealed class CurrencyUnitTests(PspSimFixture fixture) : IClassFixture<PspSimFixture>
{
    private readonly StripeClient _client = Sim.Client(fixture);
    private PaymentIntentService Intents => new(_client);

    private static PaymentIntentCreateOptions Card(long amount, string currency, string captureMethod = "automatic")
    {
        var options = Sim.Card(amount, captureMethod: captureMethod);
        options.Currency = currency;
        return options;
    }

    private async Task<StripeError> RefusedAsync(Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<StripeException>(call);
        Assert.Equal(400, (int)e.HttpStatusCode);
        Assert.Equal("invalid_request_error", e.StripeError.Type);
        return e.StripeError;
    }

    [Theory]
    [InlineData("isk", 500_050)]
    [InlineData("isk", 550)]
    [InlineData("ugx", 100_001)]
    public async Task Fractional_whole_unit_currency_amount_is_refused_like_Stripe(string currency, long amount)
    {
        var error = await RefusedAsync(() => Intents.CreateAsync(Card(amount, currency)));

        Assert.Equal("invalid_charge_amount_no_decimal_compatible", error.Code);
        Assert.Equal("amount", error.Param);
    }

    [Theory]
    [InlineData("kwd", 1_235)]
    [InlineData("bhd", 10_001)]
    [InlineData("tnd", 99_999)]
    public async Task Three_decimal_amount_not_ending_in_zero_is_refused(string currency, long amount)
    {
        var error = await RefusedAsync(() => Intents.CreateAsync(Card(amount, currency)));

        Assert.Equal("invalid_charge_amount", error.Code);
        Assert.Equal("amount", error.Param);
    }

    [Theory]
    [InlineData("usd", 49)]
    [InlineData("eur", 1)]
    [InlineData("gbp", 29)]
    [InlineData("jpy", 49)]
    [InlineData("huf", 17_499)]
    [InlineData("mxn", 999)]
    public async Task Charge_below_Stripes_minimum_charge_amount_is_refused(string currency, long amount)
    {
        var error = await RefusedAsync(() => Intents.CreateAsync(Card(amount, currency)));

        Assert.Equal("amount_too_small", error.Code);
        Assert.Equal("amount", error.Param);
    }

    [Theory]
    [InlineData("isk", 500_000)]
    [InlineData("ugx", 100_000)]
    [InlineData("mga", 1_000)]
    [InlineData("kwd", 1_230)]
    [InlineData("usd", 50)]
    [InlineData("jpy", 50)]
    [InlineData("huf", 17_500)]
    [InlineData("twd", 1_045)]
    public async Task Amount_in_Stripes_unit_is_charged(string currency, long amount)
    {
        var pi = await Intents.CreateAsync(Card(amount, currency));

        Assert.Equal("succeeded", pi.Status);
        Assert.Equal(amount, pi.AmountReceived);
        Assert.Equal(currency, pi.Currency);
    }

    [Fact]
    public async Task Partial_capture_follows_the_same_rules_as_a_charge()
    {
        var isk = await Intents.CreateAsync(Card(500_000, "isk", captureMethod: "manual"));
        var fractional = await RefusedAsync(() => Intents.CaptureAsync(isk.Id, new PaymentIntentCaptureOptions { AmountToCapture = 250_050 }));
        Assert.Equal("invalid_charge_amount_no_decimal_compatible", fractional.Code);
        Assert.Equal("amount_to_capture", fractional.Param);

        var usd = await Intents.CreateAsync(Card(1_000, "usd", captureMethod: "manual"));
        var tooSmall = await RefusedAsync(() => Intents.CaptureAsync(usd.Id, new PaymentIntentCaptureOptions { AmountToCapture = 49 }));
        Assert.Equal("amount_too_small", tooSmall.Code);

        var captured = await Intents.CaptureAsync(isk.Id, new PaymentIntentCaptureOptions { AmountToCapture = 250_000 });
        Assert.Equal(250_000, captured.AmountReceived);
    }

    [Fact]
    public async Task Refunds_keep_the_currency_step_but_have_no_minimum()
    {
        var refunds = new RefundService(_client);
        var isk = await Intents.CreateAsync(Card(500_000, "isk"));
        var kwd = await Intents.CreateAsync(Card(10_000, "kwd"));
        var usd = await Intents.CreateAsync(Card(1_000, "usd"));

        Assert.Equal("invalid_charge_amount_no_decimal_compatible",
            (await RefusedAsync(() => refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = isk.Id, Amount = 150 }))).Code);
        Assert.Equal("invalid_charge_amount",
            (await RefusedAsync(() => refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = kwd.Id, Amount = 15 }))).Code);

        Assert.Equal(100, (await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = isk.Id, Amount = 100 })).Amount);
        Assert.Equal(10, (await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = kwd.Id, Amount = 10 })).Amount);
        Assert.Equal(1, (await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = usd.Id, Amount = 1 })).Amount);
    }

    [Theory]
    [InlineData("isk", 500_000, 100)]
    [InlineData("isk", 123_400, 100)]
    [InlineData("kwd", 12_340, 10)]
    [InlineData("usd", 1_999, 1)]
    public async Task Fee_and_net_are_whole_steps_of_the_currency(string currency, long amount, long step)
    {
        var pi = await Intents.CreateAsync(Card(amount, currency));
        var charge = await new ChargeService(_client).GetAsync(pi.LatestChargeId);

        var txn = await new BalanceTransactionService(_client).GetAsync(charge.BalanceTransactionId);

        Assert.Equal(amount, txn.Amount);
        Assert.True(txn.Fee > 0, "a charge carries a fee");
        Assert.Equal(0, txn.Fee % step);
        Assert.Equal(txn.Amount - txn.Fee, txn.Net);
        Assert.Equal(0, txn.Net % step);
    }
}

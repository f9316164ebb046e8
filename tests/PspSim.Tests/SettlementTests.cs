using System.Text.Json;
using Payrail.Testing;
using PspSim.BalanceTransactions;
using Stripe;
using Xunit;

namespace PspSim.Tests;

/// <summary>
/// Balance transactions in the account's settlement currency (USD by default) with Stripe's exchange_rate, and fees
/// from the schedule of the booked currency: exact integers throughout.
/// </summary>
public sealed class SettlementTests(PspSimFixture fixture) : IClassFixture<PspSimFixture>
{
    private readonly StripeClient _client = Sim.Client(fixture);

    private async Task<PaymentIntent> ChargeAsync(long amount, string currency)
    {
        var options = Sim.Card(amount);
        options.Currency = currency;
        return await new PaymentIntentService(_client).CreateAsync(options);
    }

    private async Task<JsonElement> RawBalanceTransactionAsync(string chargeId)
    {
        using var http = Sim.Raw(fixture);
        var list = JsonDocument.Parse(await http.GetStringAsync($"/v1/balance_transactions?source={chargeId}")).RootElement;
        return Assert.Single(list.GetProperty("data").EnumerateArray().ToList()).Clone();
    }

    [Fact]
    public async Task A_JPY_charge_settled_in_USD_books_exact_cents_fee_net_and_exchange_rate()
    {
        var pi = await ChargeAsync(12_345, "jpy");

        var txn = await RawBalanceTransactionAsync(pi.LatestChargeId);

        // ¥12,345 × 0.0067 = $82.7115 → 8,271 cents (half up); fee 2.9% of 8,271 = 239.859 → 240, + 30 = 270.
        Assert.Equal("usd", txn.GetProperty("currency").GetString());
        Assert.Equal(8_271, txn.GetProperty("amount").GetInt64());
        Assert.Equal(270, txn.GetProperty("fee").GetInt64());
        Assert.Equal(8_001, txn.GetProperty("net").GetInt64());
        Assert.Equal("0.0067", txn.GetProperty("exchange_rate").GetRawText());
        Assert.Equal("charge", txn.GetProperty("type").GetString());
        Assert.Equal("charge", txn.GetProperty("reporting_category").GetString());
        Assert.Equal(pi.LatestChargeId, txn.GetProperty("source").GetString());
        var fee = Assert.Single(txn.GetProperty("fee_details").EnumerateArray().ToList());
        Assert.Equal(270, fee.GetProperty("amount").GetInt64());
        Assert.Equal("usd", fee.GetProperty("currency").GetString());
        Assert.Equal("stripe_fee", fee.GetProperty("type").GetString());

        // Stripe.net reads the same numbers (exchange_rate as a decimal, never a double).
        var typed = await new BalanceTransactionService(_client).GetAsync(txn.GetProperty("id").GetString());
        Assert.Equal(0.0067m, typed.ExchangeRate);
        Assert.Equal(8_271, typed.Amount);
    }

    [Theory]
    [InlineData(50, 34, 31)]   // ¥50 × 0.67 = 33.5 cents → 34 (half up); 2.9% of 34 = 0.986 → 1, + 30.
    [InlineData(150, 101, 33)] // 100.5 → 101; 2.9% of 101 = 2.929 → 3, + 30.
    [InlineData(149, 100, 33)] // 99.83 → 100; 2.9% of 100 = 2.9 → 3, + 30.
    public async Task Conversion_rounds_half_up_to_the_cent(long yen, long cents, long feeCents)
    {
        var pi = await ChargeAsync(yen, "jpy");

        var txn = await RawBalanceTransactionAsync(pi.LatestChargeId);

        Assert.Equal(cents, txn.GetProperty("amount").GetInt64());
        Assert.Equal(feeCents, txn.GetProperty("fee").GetInt64());
        Assert.Equal(cents - feeCents, txn.GetProperty("net").GetInt64());
    }

    [Fact]
    public async Task A_refund_of_a_JPY_charge_is_booked_in_USD_at_the_same_rate()
    {
        var pi = await ChargeAsync(12_345, "jpy");
        var refund = await new RefundService(_client).CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 2_000 });

        var txn = await new BalanceTransactionService(_client).GetAsync(refund.BalanceTransactionId);

        // ¥2,000 × 0.0067 = $13.40.
        Assert.Equal("usd", txn.Currency);
        Assert.Equal(-1_340, txn.Amount);
        Assert.Equal(0, txn.Fee);
        Assert.Equal(-1_340, txn.Net);
        Assert.Equal(0.0067m, txn.ExchangeRate);
        Assert.Equal("refund", txn.ReportingCategory);
        Assert.Equal("jpy", refund.Currency);
        Assert.Equal(2_000, refund.Amount);
    }

    [Fact]
    public async Task A_charge_in_the_settlement_currency_has_no_exchange_rate()
    {
        var pi = await ChargeAsync(2_000, "usd");

        var txn = await RawBalanceTransactionAsync(pi.LatestChargeId);

        Assert.Equal(2_000, txn.GetProperty("amount").GetInt64());
        Assert.Equal(JsonValueKind.Null, txn.GetProperty("exchange_rate").ValueKind);
    }

    [Theory]
    [InlineData("0.0067", 67, 10_000)]
    [InlineData("150.25", 15_025, 100)]
    [InlineData("2", 2, 1)]
    public void Rates_are_read_as_exact_fractions(string rate, long numerator, long denominator)
    {
        Assert.Equal((numerator, denominator), Settlement.ParseRate(rate));
    }

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("0.000")]
    [InlineData("-1.2")]
    [InlineData("1e-3")]
    [InlineData(".5")]
    [InlineData("5.")]
    [InlineData("1,5")]
    [InlineData("00.0067")]
    [InlineData("007")]
    [InlineData("1234567890.123456789")]
    public void Anything_but_a_positive_decimal_string_is_not_a_rate(string rate)
    {
        Assert.Null(Settlement.ParseRate(rate));
    }

    [Fact]
    public void Converting_to_a_whole_step_currency_rounds_once()
    {
        // $1.00 × 1.495 = 1.495 ISK = 149.5 hundredths: one half-up rounding to a whole krona gives 100, not 150 → 200.
        Assert.Equal(100, Settlement.Convert(100, "usd", "isk", 1_495, 1_000));
        // Refunds are negative: rounded half away from zero, like their charge.
        Assert.Equal(-200, Settlement.Convert(-100, "usd", "isk", 1_500, 1_000));
    }
}

/// <summary>pspsim started with another settlement currency, FX table and fee schedule.</summary>
public sealed class ConfiguredSettlementTests
{
    [Fact]
    public async Task Fee_schedule_per_currency_and_settlement_currency_come_from_configuration()
    {
        var fixture = new PspSimFixture();
        fixture.ExtraArgs.AddRange([
            "--PspSim:SettlementCurrency=jpy", "--PspSim:ExchangeRates:usd=150.25",
            "--PspSim:Fees:jpy:PercentBps=360", "--PspSim:Fees:jpy:FixedMinor=10",
            "--PspSim:Fees:isk:PercentBps=100", "--PspSim:Fees:isk:FixedMinor=3000",
        ]);
        await fixture.InitializeAsync();
        try
        {
            var client = Sim.Client(fixture);
            var intents = new PaymentIntentService(client);
            var balance = new BalanceTransactionService(client);

            var usd = await intents.CreateAsync(Sim.Card(1_999));
            var usdTxn = (await balance.ListAsync(new BalanceTransactionListOptions { Source = usd.LatestChargeId })).Data.Single();
            // $19.99 × 150.25 = ¥3,003.4975 → ¥3,003; JPY schedule: 3.6% of 3,003 = 108.108 → 108, + 10.
            Assert.Equal("jpy", usdTxn.Currency);
            Assert.Equal(3_003, usdTxn.Amount);
            Assert.Equal(118, usdTxn.Fee);
            Assert.Equal(2_885, usdTxn.Net);
            Assert.Equal(150.25m, usdTxn.ExchangeRate);

            var jpyOptions = Sim.Card(1_000);
            jpyOptions.Currency = "jpy";
            var jpy = await intents.CreateAsync(jpyOptions);
            var jpyTxn = (await balance.ListAsync(new BalanceTransactionListOptions { Source = jpy.LatestChargeId })).Data.Single();
            Assert.Equal(1_000, jpyTxn.Amount);
            Assert.Equal(46, jpyTxn.Fee); // 3.6% of 1,000 + 10
            Assert.Null(jpyTxn.ExchangeRate);

            // No rate for ISK: booked in kronur (hundredths) with the ISK schedule: 1% of 5,000.00 = 50.00, + 30.00.
            var iskOptions = Sim.Card(500_000);
            iskOptions.Currency = "isk";
            var isk = await intents.CreateAsync(iskOptions);
            var iskTxn = (await balance.ListAsync(new BalanceTransactionListOptions { Source = isk.LatestChargeId })).Data.Single();
            Assert.Equal("isk", iskTxn.Currency);
            Assert.Equal(8_000, iskTxn.Fee);
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("--PspSim:ExchangeRates:jpy=0.0067e0")]
    [InlineData("--PspSim:ExchangeRates:xyz=1.5")]
    [InlineData("--PspSim:SettlementCurrency=usdollar")]
    [InlineData("--PspSim:Fees:usd:PercentBps=10001")]
    [InlineData("--PspSim:RateLimitPerSecond=-1")]
    public void A_broken_settlement_setting_stops_pspsim_at_start(string setting)
    {
        var e = Assert.Throws<InvalidOperationException>(() => PspSimApp.Build(["--urls", "http://127.0.0.1:0", setting]));
        Assert.Contains("PspSim:", e.Message);
    }
}

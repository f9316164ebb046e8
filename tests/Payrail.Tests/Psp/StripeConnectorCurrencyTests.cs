using System.Net.Http.Headers;
using System.Text.Json;
using Payrail.Psp;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Psp;

/// <summary>
/// The connector against a real pspsim for currencies where Stripe's unit is not ISO 4217's: what goes out is in
/// Stripe's unit (read back raw from the PSP), what comes back is in ISO minor units.
/// </summary>
public sealed class StripeConnectorCurrencyTests(PspSimFixture psp) : IClassFixture<PspSimFixture>, IDisposable
{
    private readonly StripeConnectorHost host = new(psp.BaseUrl, psp.ApiKey);
    private IPspConnector Connector => host.Connector;
    private static CancellationToken None => CancellationToken.None;

    public void Dispose() => host.Dispose();

    [Fact]
    public async Task Five_thousand_kronur_go_out_as_500000_and_come_back_as_5000()
    {
        var request = StripeConnectorHost.Request(amountMinor: 5_000, currency: "ISK");

        var payment = await Connector.AuthorizeAsync(request, None);

        Assert.Equal(PspPaymentStatus.Captured, payment.Status);
        Assert.Equal(5_000, payment.AmountMinor);
        Assert.Equal(5_000, payment.AmountCapturedMinor);
        Assert.Equal("ISK", payment.CurrencyCode);
        var atPsp = await RawIntentAsync(payment.PspReference);
        Assert.Equal(500_000, atPsp.GetProperty("amount").GetInt64());
        Assert.Equal(500_000, atPsp.GetProperty("amount_received").GetInt64());
        Assert.Equal("isk", atPsp.GetProperty("currency").GetString());
    }

    [Fact]
    public async Task One_thousand_ariary_go_out_as_1000_whole_ariary_and_come_back_as_100000_minor_units()
    {
        var request = StripeConnectorHost.Request(amountMinor: 100_000, currency: "MGA");

        var payment = await Connector.AuthorizeAsync(request, None);

        Assert.Equal(PspPaymentStatus.Captured, payment.Status);
        Assert.Equal(100_000, payment.AmountMinor);
        Assert.Equal(100_000, payment.AmountCapturedMinor);
        var atPsp = await RawIntentAsync(payment.PspReference);
        Assert.Equal(1_000, atPsp.GetProperty("amount").GetInt64());
        Assert.Equal("mga", atPsp.GetProperty("currency").GetString());
    }

    [Fact]
    public async Task Three_decimal_dinars_go_out_unchanged()
    {
        var request = StripeConnectorHost.Request(amountMinor: 12_340, currency: "KWD");

        var payment = await Connector.AuthorizeAsync(request, None);

        Assert.Equal(12_340, payment.AmountMinor);
        Assert.Equal(12_340, (await RawIntentAsync(payment.PspReference)).GetProperty("amount").GetInt64());
    }

    [Theory]
    [InlineData(12_345, "MGA")] // 123.45 MGA: Stripe counts whole ariary
    [InlineData(12_345, "KWD")] // Stripe needs the last of three decimals to be 0
    [InlineData(1_000, "IQD")] // a currency Stripe does not charge in
    public async Task Amount_without_an_exact_Stripe_value_is_refused_before_anything_is_sent(long amountMinor, string currency)
    {
        var request = StripeConnectorHost.Request(amountMinor: amountMinor, currency: currency);

        var refused = await Assert.ThrowsAsync<PspRequestRejectedException>(() => Connector.AuthorizeAsync(request, None));

        Assert.Equal("amount_not_chargeable", refused.Code);
        Assert.Equal(0, await host.CountIntentsAsync(request.IdempotencyKey));
    }

    [Fact]
    public async Task Partial_capture_and_refund_in_kronur_are_converted_both_ways()
    {
        var request = StripeConnectorHost.Request(amountMinor: 5_000, currency: "ISK", capture: false);
        var authorized = await Connector.AuthorizeAsync(request, None);
        Assert.Equal(5_000, authorized.AmountCapturableMinor);

        var captured = await Connector.CaptureAsync(authorized.PspReference, 3_000, "ISK", $"{request.IdempotencyKey}:capture", None);
        var refund = await Connector.RefundAsync(new PspRefundRequest($"{request.IdempotencyKey}:refund", authorized.PspReference, 1_000, "ISK", null, new Dictionary<string, string>()), None);

        Assert.Equal(PspPaymentStatus.Captured, captured.Status);
        Assert.Equal(3_000, captured.AmountCapturedMinor);
        Assert.Equal(1_000, refund.AmountMinor);
        Assert.Equal("ISK", refund.CurrencyCode);
        Assert.Equal(300_000, (await RawIntentAsync(authorized.PspReference)).GetProperty("amount_received").GetInt64());
        Assert.Equal(100_000, (await RawAsync($"/v1/refunds/{refund.RefundReference}")).GetProperty("amount").GetInt64());
        var after = await Connector.RetrieveAsync(authorized.PspReference, None);
        Assert.Equal(3_000, after!.AmountCapturedMinor);
        Assert.Equal(1_000, after.AmountRefundedMinor);
    }

    [Fact]
    public async Task Capture_or_refund_of_a_fraction_of_an_ariary_is_refused_before_anything_is_sent()
    {
        var request = StripeConnectorHost.Request(amountMinor: 100_000, currency: "MGA", capture: false);
        var authorized = await Connector.AuthorizeAsync(request, None);

        var capture = await Assert.ThrowsAsync<PspRequestRejectedException>(() =>
            Connector.CaptureAsync(authorized.PspReference, 50_050, "MGA", $"{request.IdempotencyKey}:capture", None));
        var refund = await Assert.ThrowsAsync<PspRequestRejectedException>(() =>
            Connector.RefundAsync(new PspRefundRequest($"{request.IdempotencyKey}:refund", authorized.PspReference, 1, "MGA", null, new Dictionary<string, string>()), None));

        Assert.Equal("amount_not_chargeable", capture.Code);
        Assert.Equal("amount_not_chargeable", refund.Code);
        Assert.Equal("requires_capture", (await RawIntentAsync(authorized.PspReference)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Settlement_lines_in_kronur_are_in_ISO_minor_units_with_fee_and_net()
    {
        var request = StripeConnectorHost.Request(amountMinor: 5_000, currency: "ISK");
        var payment = await Connector.AuthorizeAsync(request, None);
        await Connector.RefundAsync(new PspRefundRequest($"{request.IdempotencyKey}:refund", payment.PspReference, 2_000, "ISK", null, new Dictionary<string, string>()), None);

        var lines = new List<PspSettlementLine>();
        await foreach (var line in Connector.ListSettlementLinesAsync(payment.CreatedAt.AddHours(-1), payment.CreatedAt.AddHours(1), None))
            if (line.PspReference == payment.PspReference) lines.Add(line);

        var charge = Assert.Single(lines, l => l.Type == "charge");
        Assert.Equal(5_000, charge.AmountMinor);
        Assert.InRange(charge.FeeMinor, 1, 5_000);
        Assert.Equal(charge.AmountMinor - charge.FeeMinor, charge.NetMinor);
        Assert.Equal("ISK", charge.CurrencyCode);
        var refund = Assert.Single(lines, l => l.Type == "refund");
        Assert.Equal(-2_000, refund.AmountMinor);
        Assert.Equal(-2_000, refund.NetMinor);
    }

    private Task<JsonElement> RawIntentAsync(string pspReference) => RawAsync($"/v1/payment_intents/{pspReference}");

    /// <summary>The PSP's own JSON, read over plain HTTP: no Stripe.net model and no connector in between.</summary>
    private async Task<JsonElement> RawAsync(string path)
    {
        using var http = new HttpClient { BaseAddress = new Uri(psp.BaseUrl), Timeout = TimeSpan.FromSeconds(20) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", psp.ApiKey);
        using var document = JsonDocument.Parse(await http.GetStringAsync(path));
        return document.RootElement.Clone();
    }
}

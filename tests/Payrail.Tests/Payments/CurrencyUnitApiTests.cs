using System.Net.Http.Headers;
using System.Text.Json;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>
/// POST /v1/payments in currencies where Stripe's unit differs from ISO 4217's: the books hold ISO minor units, the
/// PSP is charged the same money in its own unit, and an amount the PSP cannot charge exactly is refused up front.
/// </summary>
public sealed class CurrencyUnitApiTests(PaymentsApiFixture api) : IClassFixture<PaymentsApiFixture>
{
    private const string P = "https://payrail.dev/problems/";

    private static string NewBuyer() => "buyer_" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task Five_thousand_kronur_are_recorded_and_charged_as_five_thousand_kronur()
    {
        var buyer = NewBuyer();

        var answer = await api.PostPaymentAsync(api.BuyerToken(buyer), Guid.NewGuid().ToString(), PaymentsApiFixture.Body(amount: 5_000, currency: "ISK"));

        Assert.Equal(201, answer.Status);
        Assert.Equal("captured", answer.PaymentStatus);
        Assert.Equal(5_000, answer.Json.GetProperty("amount").GetInt64());
        Assert.Equal(5_000, answer.Json.GetProperty("amount_captured").GetInt64());
        var id = answer.PaymentId;
        Assert.Equal(5_000, await api.ScalarAsync("SELECT amount_minor FROM payments WHERE id = @id AND currency = 'ISK'", ("id", id)));
        Assert.Equal(5_000, await api.ScalarAsync("SELECT amount_captured_minor FROM payments WHERE id = @id", ("id", id)));
        Assert.Equal(1, await api.ScalarAsync(
            "SELECT count(*) FROM ledger_transfers WHERE payment_id = @id AND kind = 'posted' AND amount_minor = 5000 AND currency = 'ISK'", ("id", id)));
        Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id AND amount_minor <> 5000", ("id", id)));
        Assert.Equal(5_000, await api.ScalarAsync("SELECT debits_posted FROM ledger_account_totals WHERE owner = @o AND currency = 'ISK'", ("o", "buyer:" + buyer)));
        var atPsp = await RawIntentAsync(answer.Json.GetProperty("psp_reference").GetString()!);
        Assert.Equal(500_000, atPsp.GetProperty("amount").GetInt64());
        Assert.Equal(500_000, atPsp.GetProperty("amount_received").GetInt64());
        Assert.Equal("isk", atPsp.GetProperty("currency").GetString());
        await api.AssertBooksBalanceAsync();
    }

    [Fact]
    public async Task Manual_capture_in_ariary_holds_the_ISO_amount_and_authorizes_whole_ariary()
    {
        var answer = await api.PostPaymentAsync(api.BuyerToken(NewBuyer()), Guid.NewGuid().ToString(),
            PaymentsApiFixture.Body(amount: 100_000, currency: "MGA", capture: "manual"));

        Assert.Equal(201, answer.Status);
        Assert.Equal("authorized", answer.PaymentStatus);
        Assert.Equal(1, await api.ScalarAsync(
            "SELECT count(*) FROM ledger_transfers WHERE payment_id = @id AND kind = 'pending' AND amount_minor = 100000 AND currency = 'MGA'", ("id", answer.PaymentId)));
        var atPsp = await RawIntentAsync(answer.Json.GetProperty("psp_reference").GetString()!);
        Assert.Equal(1_000, atPsp.GetProperty("amount").GetInt64());
        Assert.Equal(1_000, atPsp.GetProperty("amount_capturable").GetInt64());
    }

    [Theory]
    [InlineData(12_345, "MGA", "amount-not-chargeable")] // 123.45 MGA: Stripe counts whole ariary
    [InlineData(5_125, "KWD", "amount-not-chargeable")] // three decimals must end in 0
    [InlineData(49, "USD", "amount-not-chargeable")] // below Stripe's minimum charge
    [InlineData(1_000_000, "ISK", "amount-not-chargeable")] // 100,000,000 at Stripe: above its 8 digits
    [InlineData(1_000, "IQD", "currency-not-chargeable")] // ISO currency Stripe does not charge in
    public async Task Amount_the_PSP_cannot_charge_exactly_is_refused_and_writes_nothing(long amount, string currency, string problem)
    {
        var before = await api.RowCountsAsync();
        var intentsBefore = await IntentCountAsync();

        var answer = await api.PostPaymentAsync(api.BuyerToken(NewBuyer()), Guid.NewGuid().ToString(), PaymentsApiFixture.Body(amount: amount, currency: currency));

        Assert.Equal(400, answer.Status);
        Assert.Equal("application/problem+json", answer.ContentType);
        Assert.Equal(P + problem, answer.ProblemType);
        Assert.DoesNotContain(amount.ToString(), answer.Json.GetProperty("errors").GetRawText());
        Assert.Equal(before, await api.RowCountsAsync());
        Assert.Equal(intentsBefore, await IntentCountAsync());
    }

    private Task<JsonElement> RawIntentAsync(string pspReference) => RawAsync($"/v1/payment_intents/{pspReference}");

    private async Task<int> IntentCountAsync()
    {
        var count = 0;
        string? after = null;
        for (var page = 0; page < 100; page++)
        {
            var list = await RawAsync("/v1/payment_intents?limit=100" + (after is null ? "" : "&starting_after=" + after));
            var data = list.GetProperty("data");
            count += data.GetArrayLength();
            if (!list.GetProperty("has_more").GetBoolean()) return count;
            after = data[data.GetArrayLength() - 1].GetProperty("id").GetString();
        }
        throw new InvalidOperationException("too many intents to count");
    }

    /// <summary>pspsim's own JSON over plain HTTP: what the PSP holds, with nothing of Payrail in between.</summary>
    private async Task<JsonElement> RawAsync(string path)
    {
        using var http = new HttpClient { BaseAddress = new Uri(api.PspSim.BaseUrl), Timeout = TimeSpan.FromSeconds(20) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", api.PspSim.ApiKey);
        using var document = JsonDocument.Parse(await http.GetStringAsync(path));
        return document.RootElement.Clone();
    }
}

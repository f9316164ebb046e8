using System.Text.Json;
using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

/// <summary>
/// Stripe's automatic payouts: once funds are available (available_on, the payout delay) they are paid out, at most once
/// a day, and the payout lists the balance transactions it paid. Own pspsim: the clock is global.
/// </summary>
public sealed class PayoutTests(PspSimFixture fixture) : IClassFixture<PspSimFixture>
{
    private readonly StripeClient _client = Sim.Client(fixture);

    [Fact]
    public async Task Available_funds_are_paid_out_automatically_and_the_payout_lists_what_it_paid()
    {
        var intents = new PaymentIntentService(_client);
        var first = await intents.CreateAsync(Sim.Card(2_000));
        var second = await intents.CreateAsync(Sim.Card(1_000));
        await new RefundService(_client).CreateAsync(new RefundCreateOptions { PaymentIntent = second.Id, Amount = 500 });
        var payouts = new PayoutService(_client);

        // The refund is available at once but nets below zero on its own: nothing is paid out before the charges are.
        await fixture.AdvanceClockAsync(TimeSpan.FromDays(2) - TimeSpan.FromMinutes(1));
        Assert.Empty((await payouts.ListAsync()).Data);

        await fixture.AdvanceClockAsync(TimeSpan.FromMinutes(2));

        // Nets: 2,000 − (58 + 30) = 1,912; 1,000 − (29 + 30) = 941; the refund −500.
        var payout = Assert.Single((await payouts.ListAsync()).Data);
        Assert.Equal((1_912L + 941 - 500, "usd", true, "paid"), (payout.Amount, payout.Currency, payout.Automatic, payout.Status));
        Assert.Equal(payout.Id, (await payouts.GetAsync(payout.Id)).Id);
        var paid = await PaidOutAsync(payout.Id);
        Assert.Equal(["charge", "charge", "payout", "refund"], paid.Select(t => t.Type).Order());
        Assert.Equal(0, paid.Sum(t => t.Net));
        Assert.Equal(-payout.Amount, Assert.Single(paid, t => t.Type == "payout").Amount);

        // A charge made now is paid out by the next day's payout, once its own delay passed.
        var third = await intents.CreateAsync(Sim.Card(3_000));
        await fixture.AdvanceClockAsync(TimeSpan.FromDays(2) + TimeSpan.FromMinutes(1));
        var latest = (await payouts.ListAsync()).Data;
        Assert.Equal(2, latest.Count);
        Assert.Equal(3_000 - (87 + 30), latest[0].Amount);

        // Kept across a restart (journal), with what each paid.
        await fixture.RestartAsync();
        Assert.Equal(4, (await PaidOutAsync(payout.Id)).Count);
        Assert.Equal(2, (await payouts.ListAsync()).Data.Count);
        var unknown = await Assert.ThrowsAsync<StripeException>(() => new BalanceTransactionService(_client).ListAsync(
            new BalanceTransactionListOptions { Payout = "po_unknown" }));
        Assert.Equal("resource_missing", unknown.StripeError.Code);
        Assert.NotNull(third);
    }

    private async Task<List<(string Type, long Amount, long Net)>> PaidOutAsync(string payoutId)
    {
        using var http = Sim.Raw(fixture);
        var list = JsonDocument.Parse(await http.GetStringAsync($"/v1/balance_transactions?payout={payoutId}&limit=100")).RootElement;
        return list.GetProperty("data").EnumerateArray()
            .Select(t => (t.GetProperty("type").GetString()!, t.GetProperty("amount").GetInt64(), t.GetProperty("net").GetInt64())).ToList();
    }
}

using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

public sealed class ListAndEventTests(PspSimFixture fixture) : IClassFixture<PspSimFixture>
{
    private readonly StripeClient _client = Sim.Client(fixture);

    [Fact]
    public async Task List_can_expand_the_latest_charge()
    {
        var pi = await new PaymentIntentService(_client).CreateAsync(Sim.Card(1_234));
        var list = await new PaymentIntentService(_client).ListAsync(new PaymentIntentListOptions { Limit = 1, Expand = ["data.latest_charge"] });
        var first = Assert.Single(list.Data);
        Assert.Equal(pi.Id, first.Id);
        Assert.Equal(1_234, first.LatestCharge.AmountCaptured);
    }

    [Fact]
    public async Task Every_state_change_produces_an_event()
    {
        var intents = new PaymentIntentService(_client);
        var pi = await intents.CreateAsync(Sim.Card(9_000, captureMethod: "manual"));
        await intents.CaptureAsync(pi.Id);
        var refund = await new RefundService(_client).CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 500 });
        var declined = await Assert.ThrowsAsync<StripeException>(() => intents.CreateAsync(Sim.Card(100, "pm_card_visa_chargeDeclined")));
        var toCancel = await intents.CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" });
        await intents.CancelAsync(toCancel.Id);

        var events = new EventService(_client);
        var all = new List<Event>();
        await foreach (var e in events.ListAutoPagingAsync(new EventListOptions { Limit = 100 })) all.Add(e);

        string[] IdsOf(string type) => all.Where(e => e.Type == type).Select(e => ((IHasId)e.Data.Object).Id).ToArray();
        Assert.Contains(pi.Id, IdsOf("payment_intent.created"));
        Assert.Contains(pi.Id, IdsOf("payment_intent.amount_capturable_updated"));
        Assert.Contains(pi.Id, IdsOf("payment_intent.succeeded"));
        Assert.Contains(pi.LatestChargeId, IdsOf("charge.succeeded"));
        Assert.Contains(pi.LatestChargeId, IdsOf("charge.captured"));
        Assert.Contains(pi.LatestChargeId, IdsOf("charge.refunded"));
        Assert.Contains(refund.Id, IdsOf("refund.created"));
        Assert.Contains(declined.StripeError.PaymentIntent.Id, IdsOf("payment_intent.payment_failed"));
        Assert.Contains(toCancel.Id, IdsOf("payment_intent.canceled"));

        var succeeded = all.First(e => e.Type == "payment_intent.succeeded" && ((IHasId)e.Data.Object).Id == pi.Id);
        var snapshot = Assert.IsType<PaymentIntent>(succeeded.Data.Object);
        Assert.Equal("succeeded", snapshot.Status);
        Assert.Equal("2026-10-28.endive", succeeded.ApiVersion);

        var filtered = await events.ListAsync(new EventListOptions { Type = "refund.*" });
        Assert.All(filtered.Data, e => Assert.StartsWith("refund.", e.Type));
        Assert.Equal(succeeded.Id, (await events.GetAsync(succeeded.Id)).Id);
    }

    [Fact]
    public async Task Requires_action_emits_its_event()
    {
        var pi = await new PaymentIntentService(_client).CreateAsync(Sim.Card(2_500, "pm_card_authenticationRequired"));
        var events = await new EventService(_client).ListAsync(new EventListOptions { Type = "payment_intent.requires_action", Limit = 100 });
        Assert.Contains(events.Data, e => ((IHasId)e.Data.Object).Id == pi.Id);
    }
}

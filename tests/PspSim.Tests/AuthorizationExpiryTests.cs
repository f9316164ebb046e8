using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

/// <summary>Uncaptured authorizations expire as at Stripe (7 days); the sim clock jumps there. Own pspsim: the clock is global.</summary>
public sealed class AuthorizationExpiryTests(PspSimFixture fixture) : IClassFixture<PspSimFixture>
{
    private readonly StripeClient _client = Sim.Client(fixture);

    [Fact]
    public async Task An_authorization_not_captured_within_seven_days_expires_with_charge_expired()
    {
        var intents = new PaymentIntentService(_client);
        var held = await intents.CreateAsync(Sim.Card(2_500, captureMethod: "manual"));
        var captured = await intents.CreateAsync(Sim.Card(2_600, captureMethod: "manual"));
        await intents.CaptureAsync(captured.Id);
        var charge = await new ChargeService(_client).GetAsync(held.LatestChargeId);
        var captureBefore = charge.PaymentMethodDetails.Card.CaptureBefore;
        Assert.Equal(charge.Created.AddDays(7), captureBefore);

        await fixture.AdvanceClockAsync(TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1));
        Assert.Equal("requires_capture", (await intents.GetAsync(held.Id)).Status);

        await fixture.AdvanceClockAsync(TimeSpan.FromMinutes(2));

        var expired = await intents.GetAsync(held.Id);
        Assert.Equal("canceled", expired.Status);
        Assert.Equal("automatic", expired.CancellationReason);
        Assert.Equal(0, expired.AmountCapturable);
        Assert.Equal("succeeded", (await intents.GetAsync(captured.Id)).Status);
        var events = await RefundEvents.ForAsync(fixture, held.LatestChargeId);
        Assert.Equal("charge.expired", events[^1].Type);
        Assert.False(events[^1].Data.GetProperty("object").GetProperty("captured").GetBoolean());
        Assert.Contains(await RefundEvents.ForAsync(fixture, held.Id), e => e.Type == "payment_intent.canceled");
        Assert.DoesNotContain(await RefundEvents.ForAsync(fixture, captured.LatestChargeId), e => e.Type == "charge.expired");

        var late = await Assert.ThrowsAsync<StripeException>(() => intents.CaptureAsync(held.Id));
        Assert.Equal("payment_intent_unexpected_state", late.StripeError.Code);
    }
}

/// <summary>Stripe's asynchronous refund test cards settle on their own "some time later" (here after a short configured delay).</summary>
public sealed class AsyncRefundTests
{
    [Fact]
    public async Task Refunds_of_the_async_test_cards_settle_on_their_own_after_the_configured_delay()
    {
        var fixture = new PspSimFixture();
        fixture.ExtraArgs.AddRange(["--PspSim:AsyncRefundDelaySeconds=1", "--PspSim:DueChangesTickMs=50"]);
        await fixture.InitializeAsync();
        try
        {
            var client = Sim.Client(fixture);
            var intents = new PaymentIntentService(client);
            var refunds = new RefundService(client);
            var failing = await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = (await intents.CreateAsync(Sim.Card(1_000, "pm_card_refundFail"))).Id });
            var pending = await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = (await intents.CreateAsync(Sim.Card(1_000, "pm_card_pendingRefund"))).Id });
            var plain = await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = (await intents.CreateAsync(Sim.Card(1_000))).Id });
            Assert.Equal(("succeeded", "pending"), (failing.Status, pending.Status));

            await Eventually.TrueAsync(async () => (await refunds.GetAsync(failing.Id)).Status == "failed"
                && (await refunds.GetAsync(pending.Id)).Status == "succeeded", TimeSpan.FromSeconds(15), "async refunds settle");

            Assert.Equal("expired_or_canceled_card", (await refunds.GetAsync(failing.Id)).FailureReason);
            Assert.Equal("succeeded", (await refunds.GetAsync(plain.Id)).Status);
            Assert.Equal(["refund.created"], (await RefundEvents.ForAsync(fixture, plain.Id)).Select(e => e.Type));
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }
}

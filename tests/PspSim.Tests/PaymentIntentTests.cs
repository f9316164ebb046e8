using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

public sealed class PaymentIntentTests(PspSimFixture fixture) : IClassFixture<PspSimFixture>
{
    private readonly PaymentIntentService _intents = new(Sim.Client(fixture));

    [Fact]
    public async Task Create_without_payment_method_requires_payment_method()
    {
        var pi = await _intents.CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = 1_000, Currency = "eur", Description = "order 42",
            Metadata = new() { ["order_id"] = "42" }, StatementDescriptor = "PAYRAIL 42",
        });
        Assert.StartsWith("pi_", pi.Id);
        Assert.Equal("requires_payment_method", pi.Status);
        Assert.Equal(1_000, pi.Amount);
        Assert.Equal("eur", pi.Currency);
        Assert.Equal("42", pi.Metadata["order_id"]);
        Assert.Equal("order 42", pi.Description);
        Assert.StartsWith(pi.Id + "_secret_", pi.ClientSecret);
        Assert.True(pi.AutomaticPaymentMethods.Enabled);

        var again = await _intents.GetAsync(pi.Id);
        Assert.Equal(pi.Id, again.Id);
        Assert.Equal("42", again.Metadata["order_id"]);
    }

    [Theory]
    [InlineData("pm_card_visa", "visa", "4242")]
    [InlineData("pm_card_mastercard", "mastercard", "4444")]
    public async Task Confirmed_good_card_succeeds_with_captured_charge(string paymentMethod, string brand, string last4)
    {
        var pi = await _intents.CreateAsync(Sim.Card(2_000, paymentMethod));
        Assert.Equal("succeeded", pi.Status);
        Assert.Equal(2_000, pi.AmountReceived);

        var expanded = await _intents.GetAsync(pi.Id, new PaymentIntentGetOptions { Expand = ["latest_charge.balance_transaction"] });
        var charge = expanded.LatestCharge;
        Assert.Equal(pi.LatestChargeId, charge.Id);
        Assert.True(charge.Captured);
        Assert.Equal(2_000, charge.AmountCaptured);
        Assert.Equal(0, charge.AmountRefunded);
        Assert.False(charge.Refunded);
        Assert.Equal(brand, charge.PaymentMethodDetails.Card.Brand);
        Assert.Equal(last4, charge.PaymentMethodDetails.Card.Last4);
        // 2.9% of 2,000 = 58, + 30 fixed.
        Assert.Equal(88, charge.BalanceTransaction.Fee);
        Assert.Equal(1_912, charge.BalanceTransaction.Net);
    }

    [Theory]
    [InlineData("pm_card_visa_chargeDeclined", "card_declined", "generic_decline")]
    [InlineData("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds")]
    public async Task Declined_card_answers_402_and_waits_for_a_new_payment_method(string paymentMethod, string code, string declineCode)
    {
        var e = await Assert.ThrowsAsync<StripeException>(() => _intents.CreateAsync(Sim.Card(1_500, paymentMethod)));
        Assert.Equal(System.Net.HttpStatusCode.PaymentRequired, e.HttpStatusCode);
        Assert.Equal("card_error", e.StripeError.Type);
        Assert.Equal(code, e.StripeError.Code);
        Assert.Equal(declineCode, e.StripeError.DeclineCode);
        var pi = e.StripeError.PaymentIntent;
        Assert.NotNull(pi);
        Assert.Equal("requires_payment_method", pi.Status);
        Assert.Equal(declineCode, pi.LastPaymentError.DeclineCode);

        var stored = await _intents.GetAsync(pi.Id);
        Assert.Equal("requires_payment_method", stored.Status);
        Assert.Equal(code, stored.LastPaymentError.Code);

        // A new card can then be confirmed.
        var retried = await _intents.ConfirmAsync(pi.Id, new PaymentIntentConfirmOptions { PaymentMethod = "pm_card_visa" });
        Assert.Equal("succeeded", retried.Status);
        Assert.Null(retried.LastPaymentError);
    }

    [Fact]
    public async Task Authentication_required_card_needs_action_until_the_customer_completes_it()
    {
        var options = Sim.Card(3_000, "pm_card_authenticationRequired");
        options.AutomaticPaymentMethods = null;
        options.AllowedPaymentMethodTypes = ["card"];
        options.ReturnUrl = "https://shop.example/return";
        var pi = await _intents.CreateAsync(options);
        Assert.Equal("requires_action", pi.Status);
        Assert.Equal("redirect_to_url", pi.NextAction.Type);
        Assert.Equal("https://shop.example/return", pi.NextAction.RedirectToUrl.ReturnUrl);
        Assert.StartsWith(fixture.BaseUrl, pi.NextAction.RedirectToUrl.Url);

        await fixture.AuthenticateAsync(pi.Id);
        var done = await _intents.GetAsync(pi.Id);
        Assert.Equal("succeeded", done.Status);
        Assert.Null(done.NextAction);
    }

    [Fact]
    public async Task Failed_authentication_waits_for_a_new_payment_method()
    {
        var pi = await _intents.CreateAsync(Sim.Card(3_000, "pm_card_authenticationRequired"));
        Assert.Equal("requires_action", pi.Status);
        await fixture.AuthenticateAsync(pi.Id, succeed: false);
        var failed = await _intents.GetAsync(pi.Id);
        Assert.Equal("requires_payment_method", failed.Status);
        Assert.Equal("payment_intent_authentication_failure", failed.LastPaymentError.Code);
    }

    [Fact]
    public async Task Create_then_confirm_goes_through_requires_confirmation()
    {
        var pi = await _intents.CreateAsync(Sim.Card(700, confirm: false));
        Assert.Equal("requires_confirmation", pi.Status);
        var confirmed = await _intents.ConfirmAsync(pi.Id);
        Assert.Equal("succeeded", confirmed.Status);
        var e = await Assert.ThrowsAsync<StripeException>(() => _intents.ConfirmAsync(pi.Id));
        Assert.Equal("payment_intent_unexpected_state", e.StripeError.Code);
    }

    [Fact]
    public async Task Confirm_with_redirect_capable_methods_requires_return_url()
    {
        var e = await Assert.ThrowsAsync<StripeException>(() => _intents.CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = 500, Currency = "usd", PaymentMethod = "pm_card_visa", Confirm = true,
        }));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, e.HttpStatusCode);
        Assert.Equal("return_url", e.StripeError.Param);
    }

    [Fact]
    public async Task Manual_capture_partial_capture_releases_the_rest()
    {
        var pi = await _intents.CreateAsync(Sim.Card(10_000, captureMethod: "manual"));
        Assert.Equal("requires_capture", pi.Status);
        Assert.Equal(10_000, pi.AmountCapturable);

        var over = await Assert.ThrowsAsync<StripeException>(() =>
            _intents.CaptureAsync(pi.Id, new PaymentIntentCaptureOptions { AmountToCapture = 10_001 }));
        Assert.Equal("amount_too_large", over.StripeError.Code);

        var captured = await _intents.CaptureAsync(pi.Id, new PaymentIntentCaptureOptions { AmountToCapture = 6_000 });
        Assert.Equal("succeeded", captured.Status);
        Assert.Equal(6_000, captured.AmountReceived);
        Assert.Equal(0, captured.AmountCapturable);

        var charge = await new ChargeService(Sim.Client(fixture)).GetAsync(captured.LatestChargeId);
        Assert.Equal(6_000, charge.AmountCaptured);
        Assert.True(charge.Captured);

        var twice = await Assert.ThrowsAsync<StripeException>(() => _intents.CaptureAsync(pi.Id));
        Assert.Equal("payment_intent_unexpected_state", twice.StripeError.Code);
    }

    [Fact]
    public async Task Capture_of_an_automatic_intent_is_rejected()
    {
        var pi = await _intents.CreateAsync(Sim.Card(1_000, confirm: false));
        var e = await Assert.ThrowsAsync<StripeException>(() => _intents.CaptureAsync(pi.Id));
        Assert.Equal("payment_intent_unexpected_state", e.StripeError.Code);
    }

    [Fact]
    public async Task Cancel_releases_an_authorization_and_cannot_cancel_twice()
    {
        var pi = await _intents.CreateAsync(Sim.Card(4_000, captureMethod: "manual"));
        var canceled = await _intents.CancelAsync(pi.Id, new PaymentIntentCancelOptions { CancellationReason = "requested_by_customer" });
        Assert.Equal("canceled", canceled.Status);
        Assert.Equal("requested_by_customer", canceled.CancellationReason);
        Assert.NotNull(canceled.CanceledAt);
        Assert.Equal(0, canceled.AmountCapturable);
        var e = await Assert.ThrowsAsync<StripeException>(() => _intents.CancelAsync(pi.Id));
        Assert.Equal("payment_intent_unexpected_state", e.StripeError.Code);
    }

    [Fact]
    public async Task Unknown_intent_is_resource_missing()
    {
        var e = await Assert.ThrowsAsync<StripeException>(() => _intents.GetAsync("pi_doesnotexist"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, e.HttpStatusCode);
        Assert.Equal("resource_missing", e.StripeError.Code);
    }

    [Fact]
    public async Task Processing_intent_waits_until_the_network_settles_it()
    {
        var pi = await _intents.CreateAsync(Sim.Card(2_200, "pm_card_sim_processing"));
        Assert.Equal("processing", pi.Status);
        await fixture.SettleAsync(pi.Id);
        var settled = await _intents.GetAsync(pi.Id);
        Assert.Equal("succeeded", settled.Status);
        Assert.Equal(2_200, settled.AmountReceived);

        var other = await _intents.CreateAsync(Sim.Card(2_300, "pm_card_sim_processing"));
        await fixture.SettleAsync(other.Id, succeed: false);
        var declined = await _intents.GetAsync(other.Id);
        Assert.Equal("requires_payment_method", declined.Status);
        Assert.Equal("generic_decline", declined.LastPaymentError.DeclineCode);

        var events = await new EventService(Sim.Client(fixture)).ListAsync(new EventListOptions { Type = "payment_intent.processing", Limit = 100 });
        Assert.Contains(events.Data, e => ((IHasId)e.Data.Object).Id == pi.Id);
    }
}

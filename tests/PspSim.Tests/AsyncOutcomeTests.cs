using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Stripe;
using Xunit;

namespace PspSim.Tests;

/// <summary>Outcomes that reach the merchant only by webhook: 3-D Secure, asynchronous cards, expired authorizations.</summary>
public sealed class AsyncOutcomeTests
{
    private static PaymentIntentCreateOptions ThreeDSecure(string captureMethod = "automatic") => new()
    {
        Amount = 4_200, Currency = "usd", PaymentMethod = "pm_card_authenticationRequired", Confirm = true, CaptureMethod = captureMethod,
        ReturnUrl = "https://shop.example/3ds-done",
    };

    [Fact]
    public async Task Three_D_Secure_approved_on_the_pspsim_page_delivers_requires_action_then_succeeded()
    {
        await using var sim = await WebhookSim.StartAsync();
        var endpoint = await sim.RegisterAsync();
        var pi = await new PaymentIntentService(sim.Client).CreateAsync(ThreeDSecure());
        Assert.Equal("requires_action", pi.Status);
        Assert.Equal($"{sim.Psp.BaseUrl}/_sim/3ds/{pi.Id}", pi.NextAction.RedirectToUrl.Url);
        await sim.UntilReceivedAsync("payment_intent.requires_action");

        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var page = await browser.GetStringAsync(pi.NextAction.RedirectToUrl.Url);
        Assert.Contains("value=\"approve\"", page);
        Assert.Contains("value=\"fail\"", page);
        using var answer = await browser.PostAsJsonAsync(pi.NextAction.RedirectToUrl.Url, new { outcome = "approve" });
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);

        await sim.UntilReceivedAsync("payment_intent.succeeded");
        // Deliveries run in parallel: the charge's event may come after the intent's.
        await sim.UntilReceivedAsync("charge.succeeded");
        var succeeded = sim.Receiver.Of("payment_intent.succeeded").Single();
        Assert.Equal(pi.Id, EventUtility.ConstructEvent(succeeded.Body, succeeded.Signature, endpoint.Secret).Data.Object is PaymentIntent p ? p.Id : null);
        Assert.Equal(4_200, succeeded.Object.GetProperty("amount_received").GetInt64());
        Assert.Single(sim.Receiver.Of("charge.succeeded"));
        Assert.Empty(sim.Receiver.Of("payment_intent.payment_failed"));
    }

    [Fact]
    public async Task Three_D_Secure_failed_by_the_form_post_delivers_payment_failed_and_returns_the_customer_to_the_return_url()
    {
        await using var sim = await WebhookSim.StartAsync();
        await sim.RegisterAsync();
        var pi = await new PaymentIntentService(sim.Client).CreateAsync(ThreeDSecure(captureMethod: "manual"));

        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var answer = await browser.PostAsync(pi.NextAction.RedirectToUrl.Url, Sim.Form(("outcome", "fail")));
        Assert.Equal(HttpStatusCode.Redirect, answer.StatusCode);
        Assert.StartsWith($"https://shop.example/3ds-done?payment_intent={pi.Id}&payment_intent_client_secret=", answer.Headers.Location!.ToString());
        Assert.EndsWith("&redirect_status=failed", answer.Headers.Location!.ToString());

        await sim.UntilReceivedAsync("payment_intent.payment_failed");
        var failed = sim.Receiver.Of("payment_intent.payment_failed").Single().Object;
        Assert.Equal("requires_payment_method", failed.GetProperty("status").GetString());
        Assert.Equal("payment_intent_authentication_failure", failed.GetProperty("last_payment_error").GetProperty("code").GetString());
        Assert.Empty(sim.Receiver.Of("payment_intent.amount_capturable_updated"));
        // Answered once: the page refuses a second outcome.
        using var again = await browser.PostAsJsonAsync(pi.NextAction.RedirectToUrl.Url, new { outcome = "approve" });
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
    }

    [Fact]
    public async Task An_async_success_card_answers_processing_then_succeeds_by_itself_after_AsyncDelayMs()
    {
        await using var sim = await WebhookSim.StartAsync("--PspSim:AsyncDelayMs=500", "--PspSim:DueChangesTickMs=50");
        await sim.RegisterAsync();
        var pi = await sim.PayAsync(paymentMethod: "pm_card_async_success");
        Assert.Equal("processing", pi.Status);

        await sim.UntilReceivedAsync("payment_intent.succeeded");
        await sim.UntilReceivedAsync("payment_intent.processing");
        Assert.Equal("processing", sim.Receiver.Of("payment_intent.processing").Single().Object.GetProperty("status").GetString());
        Assert.Equal("succeeded", (await new PaymentIntentService(sim.Client).GetAsync(pi.Id)).Status);
    }

    [Fact]
    public async Task An_async_declined_card_answers_processing_then_fails_by_itself()
    {
        await using var sim = await WebhookSim.StartAsync("--PspSim:AsyncDelayMs=0", "--PspSim:DueChangesTickMs=50");
        await sim.RegisterAsync();
        var pi = await sim.PayAsync(paymentMethod: "pm_card_async_declined");
        Assert.Equal("processing", pi.Status);

        await sim.UntilReceivedAsync("payment_intent.payment_failed");
        await sim.UntilReceivedAsync("charge.failed");
        var failed = sim.Receiver.Of("payment_intent.payment_failed").Single().Object;
        Assert.Equal("card_declined", failed.GetProperty("last_payment_error").GetProperty("code").GetString());
        Assert.Single(sim.Receiver.Of("charge.failed"));
    }

    [Fact]
    public async Task An_authorization_not_captured_within_AuthorizationTtl_is_canceled_with_charge_expired_and_payment_intent_canceled()
    {
        await using var sim = await WebhookSim.StartAsync("--PspSim:AuthorizationTtl=00:00:01", "--PspSim:DueChangesTickMs=50");
        await sim.RegisterAsync("charge.expired", "payment_intent.canceled");
        var pi = await sim.PayAsync(captureMethod: "manual");
        Assert.Equal("requires_capture", pi.Status);

        await sim.UntilReceivedAsync("payment_intent.canceled");
        await sim.UntilReceivedAsync("charge.expired");
        var canceled = sim.Receiver.Of("payment_intent.canceled").Single().Object;
        Assert.Equal(pi.Id, canceled.GetProperty("id").GetString());
        Assert.Equal("automatic", canceled.GetProperty("cancellation_reason").GetString());
        Assert.Equal(["charge.expired", "payment_intent.canceled"], sim.Receiver.Received.Select(r => r.EventType).Order());
    }
}

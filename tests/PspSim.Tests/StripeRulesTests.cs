using System.Net;
using System.Text.Json;
using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

/// <summary>
/// Where Stripe is stricter than a kind sandbox: 3-D Secure without return_url, off-session payments, documented
/// parameters pspsim does not model, and 429s with the time to wait.
/// </summary>
public sealed class StripeRulesTests(PspSimFixture fixture) : IClassFixture<PspSimFixture>
{
    private readonly PaymentIntentService _intents = new(Sim.Client(fixture));

    private static async Task<(HttpStatusCode Status, JsonElement Json, HttpResponseMessage Response)> PostAsync(
        HttpClient http, string path, params (string Key, string Value)[] form)
    {
        var response = await http.PostAsync(path, Sim.Form(form));
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        return (response.StatusCode, json, response);
    }

    private static (string, string)[] ThreeDsCard(params (string, string)[] extra) =>
    [
        ("amount", "3000"), ("currency", "usd"), ("payment_method", "pm_card_threeDSecure2Required"), ("confirm", "true"),
        ("automatic_payment_methods[enabled]", "true"), ("automatic_payment_methods[allow_redirects]", "never"), .. extra,
    ];

    [Fact]
    public async Task Three_D_Secure_without_return_url_asks_for_the_SDK_and_gives_no_redirect_url()
    {
        var pi = await _intents.CreateAsync(Sim.Card(3_000, "pm_card_threeDSecure2Required"));

        Assert.Equal("requires_action", pi.Status);
        Assert.Equal("use_stripe_sdk", pi.NextAction.Type);
        Assert.Null(pi.NextAction.RedirectToUrl);
        await fixture.AuthenticateAsync(pi.Id);
        Assert.Equal("succeeded", (await _intents.GetAsync(pi.Id)).Status);
    }

    [Fact]
    public async Task Three_D_Secure_with_return_url_redirects_and_sends_the_customer_back_there()
    {
        var options = Sim.Card(3_000, "pm_card_threeDSecure2Required");
        options.AutomaticPaymentMethods = null;
        options.ReturnUrl = "https://shop.example/3ds-done";

        var pi = await _intents.CreateAsync(options);

        Assert.Equal("redirect_to_url", pi.NextAction.Type);
        Assert.Equal("https://shop.example/3ds-done", pi.NextAction.RedirectToUrl.ReturnUrl);
        Assert.StartsWith(fixture.BaseUrl, pi.NextAction.RedirectToUrl.Url);
    }

    [Theory]
    [InlineData("off_session", "true")]
    [InlineData("off_session", "one_off")]
    [InlineData("error_on_requires_action", "true")]
    public async Task A_card_needing_authentication_fails_with_authentication_required_when_the_customer_cannot_be_asked(string param, string value)
    {
        using var http = Sim.Raw(fixture);

        var (status, json, _) = await PostAsync(http, "/v1/payment_intents", ThreeDsCard((param, value)));

        Assert.Equal(HttpStatusCode.PaymentRequired, status);
        var error = json.GetProperty("error");
        Assert.Equal("card_error", error.GetProperty("type").GetString());
        Assert.Equal("authentication_required", error.GetProperty("code").GetString());
        Assert.Equal("authentication_required", error.GetProperty("decline_code").GetString());
        var intent = error.GetProperty("payment_intent");
        Assert.Equal("requires_payment_method", intent.GetProperty("status").GetString());
        Assert.Equal("authentication_required", intent.GetProperty("last_payment_error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Error_on_requires_action_on_confirm_fails_the_attempt_instead_of_waiting()
    {
        var created = await _intents.CreateAsync(Sim.Card(3_000, "pm_card_authenticationRequired", confirm: false));
        using var http = Sim.Raw(fixture);

        var (status, json, _) = await PostAsync(http, $"/v1/payment_intents/{created.Id}/confirm", ("error_on_requires_action", "true"));

        Assert.Equal(HttpStatusCode.PaymentRequired, status);
        Assert.Equal("authentication_required", json.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("requires_payment_method", (await _intents.GetAsync(created.Id)).Status);
    }

    [Fact]
    public async Task Off_session_changes_nothing_for_a_card_that_needs_no_authentication_and_needs_confirm()
    {
        using var http = Sim.Raw(fixture);
        (string, string)[] visa =
        [
            ("amount", "3000"), ("currency", "usd"), ("payment_method", "pm_card_visa"),
            ("automatic_payment_methods[enabled]", "true"), ("automatic_payment_methods[allow_redirects]", "never"), ("off_session", "true"),
        ];

        var (status, json, _) = await PostAsync(http, "/v1/payment_intents", [.. visa, ("confirm", "true")]);
        var (unconfirmed, refusal, _) = await PostAsync(http, "/v1/payment_intents", visa);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("succeeded", json.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, unconfirmed);
        Assert.Equal("off_session", refusal.GetProperty("error").GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("/v1/payment_intents", "customer", "cus_123")]
    [InlineData("/v1/payment_intents", "transfer_group", "order_1")]
    [InlineData("/v1/payment_intents", "payment_method_options[card][request_three_d_secure]", "any")]
    [InlineData("/v1/payment_intents", "no_such_parameter", "x")]
    public async Task A_parameter_pspsim_does_not_model_is_refused_by_name_and_nothing_is_created(string path, string name, string value)
    {
        using var http = Sim.Raw(fixture);
        var before = (await _intents.ListAsync(new PaymentIntentListOptions { Limit = 1 })).Data.FirstOrDefault()?.Id;

        var (status, json, _) = await PostAsync(http, path, ThreeDsCard((name, value)));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = json.GetProperty("error");
        var top = name.Split('[')[0];
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("parameter_unknown", error.GetProperty("code").GetString());
        Assert.Equal(top, error.GetProperty("param").GetString());
        Assert.StartsWith($"Received unknown parameter: {top}", error.GetProperty("message").GetString());
        Assert.Equal(before, (await _intents.ListAsync(new PaymentIntentListOptions { Limit = 1 })).Data.FirstOrDefault()?.Id);
    }

    [Fact]
    public async Task Unmodelled_capture_and_list_parameters_are_refused_too()
    {
        var pi = await _intents.CreateAsync(Sim.Card(2_000, captureMethod: "manual"));
        using var http = Sim.Raw(fixture);

        var (capture, captureJson, _) = await PostAsync(http, $"/v1/payment_intents/{pi.Id}/capture", ("final_capture", "false"));
        var list = await http.GetAsync("/v1/payment_intents?customer=cus_123");

        Assert.Equal(HttpStatusCode.BadRequest, capture);
        Assert.Equal("final_capture", captureJson.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal("requires_capture", (await _intents.GetAsync(pi.Id)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, list.StatusCode);
    }

    [Theory]
    [InlineData("customer", "cus_123")]
    [InlineData("reverse_transfer", "true")]
    [InlineData("instructions_email", "buyer@example.com")]
    public async Task Unmodelled_refund_parameters_are_refused_by_name_and_nothing_is_refunded(string name, string value)
    {
        var pi = await _intents.CreateAsync(Sim.Card(2_000));
        using var http = Sim.Raw(fixture);

        var (status, json, _) = await PostAsync(http, "/v1/refunds", ("payment_intent", pi.Id), (name, value));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("parameter_unknown", json.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(name, json.GetProperty("error").GetProperty("param").GetString());
        Assert.Empty((await new RefundService(Sim.Client(fixture)).ListAsync(new RefundListOptions { PaymentIntent = pi.Id })).Data);
    }

    [Fact]
    public async Task The_rate_limit_fault_says_when_to_come_back()
    {
        await fixture.AddFaultAsync("rate_limit", count: 1, pathPrefix: "/v1/balance_transactions");
        using var http = Sim.Raw(fixture);

        var limited = await http.GetAsync("/v1/balance_transactions");
        var after = await http.GetAsync("/v1/balance_transactions");

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), limited.Headers.RetryAfter?.Delta);
        Assert.Equal("global-rate", limited.Headers.GetValues("Stripe-Rate-Limited-Reason").Single());
        var error = JsonDocument.Parse(await limited.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("rate_limit", error.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task The_lock_timeout_fault_says_when_to_come_back()
    {
        await fixture.AddFaultAsync("lock_timeout", count: 1, pathPrefix: "/v1/balance_transactions");
        using var http = Sim.Raw(fixture);

        var locked = await http.GetAsync("/v1/balance_transactions");

        Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), locked.Headers.RetryAfter?.Delta);
        var error = JsonDocument.Parse(await locked.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("lock_timeout", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Without_a_configured_rate_limit_a_burst_is_answered_in_full()
    {
        using var http = Sim.Raw(fixture);

        var answers = await Task.WhenAll(Enumerable.Range(0, 60).Select(_ => http.GetAsync("/v1/balance_transactions?limit=1")));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
    }
}

/// <summary>pspsim with Stripe's sandbox rate limit switched on.</summary>
public sealed class RateLimitTests
{
    [Fact]
    public async Task Past_25_requests_a_second_pspsim_answers_429_rate_limit_with_retry_after()
    {
        var fixture = new PspSimFixture();
        fixture.ExtraArgs.AddRange(["--PspSim:RateLimitPerSecond=25", "--PspSim:RetryAfterSeconds=2"]);
        await fixture.InitializeAsync();
        try
        {
            using var http = Sim.Raw(fixture);
            var started = DateTimeOffset.UtcNow;

            var answers = await Task.WhenAll(Enumerable.Range(0, 80).Select(_ => http.GetAsync("/v1/balance_transactions?limit=1")));

            var seconds = (int)Math.Ceiling((DateTimeOffset.UtcNow - started).TotalSeconds) + 1;
            var admitted = answers.Count(a => a.StatusCode == HttpStatusCode.OK);
            var limited = answers.Where(a => a.StatusCode == HttpStatusCode.TooManyRequests).ToList();
            Assert.Equal(answers.Length, admitted + limited.Count);
            Assert.InRange(admitted, 25, 25 * seconds);
            Assert.NotEmpty(limited);
            Assert.All(limited, a =>
            {
                Assert.Equal(TimeSpan.FromSeconds(2), a.Headers.RetryAfter?.Delta);
                Assert.Equal("global-rate", a.Headers.GetValues("Stripe-Rate-Limited-Reason").Single());
            });
            var error = JsonDocument.Parse(await limited[0].Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
            Assert.Equal("rate_limit", error.GetProperty("code").GetString());
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }
}

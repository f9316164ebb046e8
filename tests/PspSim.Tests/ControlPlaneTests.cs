using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

/// <summary>The /_sim control plane itself (the connector's behaviour under faults is tested elsewhere).</summary>
public sealed class ControlPlaneTests(PspSimFixture fixture) : IClassFixture<PspSimFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => fixture.ResetAsync();
    public Task DisposeAsync() => fixture.ResetAsync();

    private async Task<int> CountIntentsAsync()
    {
        var count = 0;
        await foreach (var _ in new PaymentIntentService(Sim.Client(fixture)).ListAutoPagingAsync(new PaymentIntentListOptions { Limit = 100 })) count++;
        return count;
    }

    [Fact]
    public async Task Http_500_fault_fires_count_times_then_requests_succeed()
    {
        await fixture.AddFaultAsync("http_500", count: 1, pathPrefix: "/v1/payment_intents", method: "POST");
        var intents = new PaymentIntentService(Sim.Client(fixture));
        var before = await CountIntentsAsync();
        var e = await Assert.ThrowsAsync<StripeException>(() => intents.CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" }));
        Assert.Equal(HttpStatusCode.InternalServerError, e.HttpStatusCode);
        Assert.Equal("api_error", e.StripeError.Type);
        Assert.Equal(before, await CountIntentsAsync());
        var pi = await intents.CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" });
        Assert.Equal("requires_payment_method", pi.Status);
    }

    [Fact]
    public async Task Fault_matches_only_its_path_and_method()
    {
        await fixture.AddFaultAsync("http_500", pathPrefix: "/v1/refunds");
        await fixture.AddFaultAsync("http_500", method: "POST", pathPrefix: "/v1/balance_transactions");
        var pi = await new PaymentIntentService(Sim.Client(fixture)).CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" });
        await new BalanceTransactionService(Sim.Client(fixture)).ListAsync();
        var e = await Assert.ThrowsAsync<StripeException>(() => new RefundService(Sim.Client(fixture)).ListAsync());
        Assert.Equal(HttpStatusCode.InternalServerError, e.HttpStatusCode);
        Assert.StartsWith("pi_", pi.Id);
    }

    [Fact]
    public async Task Response_lost_changes_state_and_the_key_replays_the_stored_answer()
    {
        await fixture.AddFaultAsync("response_lost", count: 1, method: "POST");
        var intents = new PaymentIntentService(Sim.Client(fixture));
        var options = new RequestOptions { IdempotencyKey = Guid.NewGuid().ToString() };
        var before = await CountIntentsAsync();
        await Assert.ThrowsAsync<HttpRequestException>(() => intents.CreateAsync(Sim.Card(3_300), options));
        Assert.Equal(before + 1, await CountIntentsAsync());
        var retried = await intents.CreateAsync(Sim.Card(3_300), options);
        Assert.Equal("succeeded", retried.Status);
        Assert.Equal(before + 1, await CountIntentsAsync());
    }

    [Fact]
    public async Task Stripe_net_with_its_default_retries_recovers_a_lost_response_exactly_once()
    {
        // Stripe.net adds its own Idempotency-Key when retries are on, so the retry replays the stored answer.
        var client = new StripeClient(fixture.ApiKey, httpClient: new SystemNetHttpClient(new HttpClient(), maxNetworkRetries: 2), apiBase: fixture.BaseUrl);
        var before = await CountIntentsAsync();
        await fixture.AddFaultAsync("response_lost", count: 1, method: "POST");
        var pi = await new PaymentIntentService(client).CreateAsync(Sim.Card(4_400));
        Assert.Equal("succeeded", pi.Status);
        Assert.Equal(before + 1, await CountIntentsAsync());
    }

    [Fact]
    public async Task Connection_reset_changes_nothing()
    {
        var before = await CountIntentsAsync();
        await fixture.AddFaultAsync("connection_reset", count: 1);
        var intents = new PaymentIntentService(Sim.Client(fixture));
        await Assert.ThrowsAsync<HttpRequestException>(() => intents.CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" }));
        Assert.Equal(before, await CountIntentsAsync());
    }

    [Fact]
    public async Task Timeout_hangs_past_the_client_deadline_without_changing_state()
    {
        await fixture.AddFaultAsync("timeout", count: 1, method: "POST");
        var before = await CountIntentsAsync();
        using var http = Sim.Raw(fixture);
        http.Timeout = TimeSpan.FromMilliseconds(500);
        await Assert.ThrowsAnyAsync<Exception>(() => http.PostAsync("/v1/payment_intents", Sim.Form(("amount", "100"), ("currency", "usd"))));
        Assert.Equal(before, await CountIntentsAsync());
    }

    [Fact]
    public async Task Latency_delays_api_requests()
    {
        await fixture.SetLatencyAsync(300);
        using var http = Sim.Raw(fixture);
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var response = await http.GetAsync("/v1/events?limit=1");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(started.ElapsedMilliseconds >= 290, $"{started.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Latency_holds_the_idempotency_key_so_a_concurrent_request_with_it_gets_409_in_use()
    {
        await fixture.SetLatencyAsync(1_000);
        var key = Guid.NewGuid().ToString();
        using var http = Sim.Raw(fixture);

        var answers = await Task.WhenAll(SendAsync(http, Keyed(key, 2_100)), SendAsync(http, Keyed(key, 2_100)));

        // Whichever came second arrived while the first waited out its latency: Stripe answers an in-flight key so.
        Assert.Single(answers, a => a.Status == HttpStatusCode.OK);
        var inUse = Assert.Single(answers, a => a.Status == HttpStatusCode.Conflict);
        AssertStripeError(inUse.Body, "idempotency_error", "idempotency_key_in_use");
    }

    [Fact]
    public async Task Hold_key_keeps_the_key_in_use_for_its_duration_then_runs_the_request_once()
    {
        await fixture.AddFaultAsync("hold_key", count: 1, pathPrefix: "/v1/payment_intents", method: "POST", durationMs: 3_000);
        var key = Guid.NewGuid().ToString();
        var before = await CountIntentsAsync();
        using var http = Sim.Raw(fixture);
        var started = System.Diagnostics.Stopwatch.StartNew();

        var answers = await Task.WhenAll(SendAsync(http, Keyed(key, 2_200)), SendAsync(http, Keyed(key, 2_200)));

        Assert.True(started.ElapsedMilliseconds >= 2_900, $"{started.ElapsedMilliseconds} ms");
        var answer = Assert.Single(answers, a => a.Status == HttpStatusCode.OK);
        var inUse = Assert.Single(answers, a => a.Status == HttpStatusCode.Conflict);
        AssertStripeError(inUse.Body, "idempotency_error", "idempotency_key_in_use");
        Assert.Equal(before + 1, await CountIntentsAsync());
        var replay = await SendAsync(http, Keyed(key, 2_200));
        Assert.Equal(answer.Body, replay.Body);
    }

    [Theory]
    [InlineData("lock_timeout")]
    [InlineData("rate_limit")]
    public async Task Lock_timeout_and_rate_limit_answer_Stripes_429_and_leave_the_key_free(string mode)
    {
        await fixture.AddFaultAsync(mode, count: 1, pathPrefix: "/v1/payment_intents", method: "POST");
        var key = Guid.NewGuid().ToString();
        var before = await CountIntentsAsync();
        using var http = Sim.Raw(fixture);

        var refused = await SendAsync(http, Keyed(key, 2_300));

        Assert.Equal((HttpStatusCode)429, refused.Status);
        AssertStripeError(refused.Body, "invalid_request_error", mode);
        Assert.Equal(before, await CountIntentsAsync());
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, Keyed(key, 2_300))).Status);
        Assert.Equal(before + 1, await CountIntentsAsync());
    }

    [Fact]
    public async Task Proxy_408_runs_the_request_then_answers_without_a_Stripe_body_or_headers()
    {
        await fixture.AddFaultAsync("proxy_408", count: 1, pathPrefix: "/v1/payment_intents", method: "POST");
        var key = Guid.NewGuid().ToString();
        var before = await CountIntentsAsync();
        using var http = Sim.Raw(fixture);

        using (var request = Keyed(key, 2_400))
        using (var response = await http.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.RequestTimeout, response.StatusCode);
            Assert.False(response.Headers.Contains("Request-Id"));
            Assert.DoesNotContain("\"error\"", await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(before + 1, await CountIntentsAsync());
        var replay = await SendAsync(http, Keyed(key, 2_400));
        Assert.Equal(HttpStatusCode.OK, replay.Status);
        Assert.Equal(before + 1, await CountIntentsAsync());
    }

    [Theory]
    [InlineData("tamper_amount", "amount", "2501")]
    [InlineData("tamper_amount_received", "amount_received", "2501")]
    [InlineData("tamper_currency", "currency", "eur")]
    public async Task Tamper_faults_change_the_answer_but_not_the_stored_intent(string mode, string field, string tampered)
    {
        await fixture.AddFaultAsync(mode, count: 1, pathPrefix: "/v1/payment_intents", method: "POST");
        var key = Guid.NewGuid().ToString();
        using var http = Sim.Raw(fixture);

        var answer = await SendAsync(http, Keyed(key, 2_500));
        var replay = await SendAsync(http, Keyed(key, 2_500));

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        using var told = JsonDocument.Parse(answer.Body);
        Assert.Equal(tampered, told.RootElement.GetProperty(field).ToString());
        using var truth = JsonDocument.Parse(replay.Body);
        Assert.Equal(2_500, truth.RootElement.GetProperty("amount").GetInt64());
        Assert.Equal(2_500, truth.RootElement.GetProperty("amount_received").GetInt64());
        Assert.Equal("usd", truth.RootElement.GetProperty("currency").GetString());
        var stored = await new PaymentIntentService(Sim.Client(fixture)).GetAsync(truth.RootElement.GetProperty("id").GetString());
        Assert.Equal(2_500, stored.AmountReceived);
    }

    private sealed record AnswerOf(HttpStatusCode Status, string Body);

    private static async Task<AnswerOf> SendAsync(HttpClient http, HttpRequestMessage request)
    {
        using (request)
        using (var response = await http.SendAsync(request))
            return new AnswerOf(response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A confirmed card payment in USD (captured at once) under an idempotency key.</summary>
    private static HttpRequestMessage Keyed(string key, long amount) => new(HttpMethod.Post, "/v1/payment_intents")
    {
        Content = Sim.Form(("amount", amount.ToString()), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
            ("automatic_payment_methods[enabled]", "true"), ("automatic_payment_methods[allow_redirects]", "never")),
        Headers = { { "Idempotency-Key", key } },
    };

    private static void AssertStripeError(string body, string type, string code)
    {
        using var json = JsonDocument.Parse(body);
        var error = json.RootElement.GetProperty("error");
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Faults_are_listed_and_reset_clears_them()
    {
        await fixture.AddFaultAsync("http_500", count: 3, probability: 0.5, pathPrefix: "/v1/refunds", method: "post");
        await fixture.SetLatencyAsync(5, 2);
        using var http = new HttpClient { BaseAddress = new Uri(fixture.BaseUrl) };
        using (var doc = JsonDocument.Parse(await http.GetStringAsync("/_sim/faults")))
        {
            var fault = Assert.Single(doc.RootElement.GetProperty("faults").EnumerateArray());
            Assert.Equal("http_500", fault.GetProperty("mode").GetString());
            Assert.Equal(3, fault.GetProperty("count").GetInt32());
            Assert.Equal(0.5, fault.GetProperty("probability").GetDouble());
            Assert.Equal("/v1/refunds", fault.GetProperty("path_prefix").GetString());
            Assert.Equal("POST", fault.GetProperty("method").GetString());
            Assert.Equal(5, doc.RootElement.GetProperty("latency").GetProperty("fixed_ms").GetInt32());
        }
        await fixture.ResetAsync();
        using (var doc = JsonDocument.Parse(await http.GetStringAsync("/_sim/faults")))
        {
            Assert.Empty(doc.RootElement.GetProperty("faults").EnumerateArray());
            Assert.Equal(0, doc.RootElement.GetProperty("latency").GetProperty("fixed_ms").GetInt32());
        }
    }

    [Theory]
    [InlineData("/_sim/faults", """{"mode":"explode"}""")]
    [InlineData("/_sim/faults", """{"probability":0.5}""")]
    [InlineData("/_sim/faults", """{"mode":"http_500","probability":1.5}""")]
    [InlineData("/_sim/faults", """{"mode":"http_500","count":0}""")]
    [InlineData("/_sim/faults", """{"mode":"http_500","path_prefix":"v1"}""")]
    [InlineData("/_sim/faults", """{"mode":"http_500","method":"PATCHY"}""")]
    [InlineData("/_sim/faults", """{"mode":"http_500","colour":"red"}""")]
    [InlineData("/_sim/faults", """{"mode":"hold_key"}""")]
    [InlineData("/_sim/faults", """{"mode":"hold_key","duration_ms":0}""")]
    [InlineData("/_sim/faults", """{"mode":"http_500","duration_ms":100}""")]
    [InlineData("/_sim/latency", """{"fixed_ms":-1}""")]
    [InlineData("/_sim/latency", """{"fixed_ms":"slow"}""")]
    [InlineData("/_sim/latency", """not json""")]
    public async Task Bad_control_input_is_400_problem(string path, string body)
    {
        using var http = new HttpClient { BaseAddress = new Uri(fixture.BaseUrl) };
        using var response = await http.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("https://payrail.dev/problems/pspsim-invalid-control-request", problem.GetProperty("type").GetString());
    }
}

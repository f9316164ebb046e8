using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Payrail.Auth;
using Payrail.Gateway;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Gateway;

/// <summary>Two payment-service instances behind one gateway; the idempotency lease is short so a cut request is taken over quickly.</summary>
public sealed class TwoApisStack : GatewayStack
{
    protected override int ApiInstances => 2;
    protected override IEnumerable<KeyValuePair<string, string?>> ApiSettings => [new("Idempotency:LeaseMs", "2000")];
    // Failover, not the limit, is under test here; and no health probe runs during the test, so the requests after the
    // kill succeed only by the gateway's own retry of a refused connection.
    protected override IEnumerable<KeyValuePair<string, string?>> GatewaySettings =>
    [
        new("Gateway:RateLimit:Roles:buyer:RequestsPerSecond", "1000"), new("Gateway:RateLimit:Roles:buyer:BurstRequests", "1000"),
        new("Gateway:HealthCheckIntervalMs", "600000"), new("Gateway:HealthCheckTimeoutMs", "1000"),
    ];
}

public sealed class GatewayFailoverTests(TwoApisStack stack) : IClassFixture<TwoApisStack>
{
    [Fact]
    public async Task An_api_instance_killed_mid_payment_leaves_traffic_on_the_other_and_the_retry_replays_without_a_second_charge()
    {
        using var http = stack.Client();
        var token = stack.Token(Roles.Buyer, "buyer_failover");
        for (var i = 0; i < 20; i++)
        {
            using var spread = await http.SendAsync(GatewayStack.Request(HttpMethod.Get, $"/v1/payments/{Guid.NewGuid()}", token));
            Assert.Equal(HttpStatusCode.NotFound, spread.StatusCode);
        }
        Assert.All(stack.Arrivals, a => Assert.True(a.Count > 0, "the gateway balances over both instances"));

        // The PSP holds the charge 3 s: the instance serving it is killed meanwhile, so the client loses the answer.
        await stack.PspSim.AddFaultAsync("hold_key", count: 1, pathPrefix: "/v1/payment_intents", method: "POST", durationMs: 3_000);
        var key = Guid.NewGuid().ToString();
        var posted = stack.Arrivals.Select(a => a.Requests.Count(r => r.Path == "/v1/payments")).ToList();
        var first = http.SendAsync(GatewayStack.Request(HttpMethod.Post, "/v1/payments", token, GatewayStack.PaymentBody(4200), key));
        var serving = -1;
        await Eventually.TrueAsync(() => (serving = posted.Select((before, i) =>
            stack.Arrivals[i].Requests.Count(r => r.Path == "/v1/payments") > before ? i : -1).Max()) >= 0,
            TimeSpan.FromSeconds(10), "the payment reaches an instance");
        await Eventually.TrueAsync(async () => await stack.PaymentRowsAsync() == 1, TimeSpan.FromSeconds(10), "the payment is recorded");
        await stack.KillApiAsync(serving);

        using (var lost = await first)
        {
            Assert.Equal(HttpStatusCode.BadGateway, lost.StatusCode);
            Assert.Contains(Payrail.Api.Problems.UpstreamFailed, await lost.Content.ReadAsStringAsync());
        }
        // New payments keep succeeding at once, before any health probe has noticed: a refused connect is retried.
        for (var i = 0; i < 10; i++)
        {
            using var next = await http.SendAsync(GatewayStack.Request(HttpMethod.Post, "/v1/payments", token,
                GatewayStack.PaymentBody(100 + i), Guid.NewGuid().ToString()));
            Assert.Equal(HttpStatusCode.Created, next.StatusCode);
        }

        HttpResponseMessage? retried = null;
        await Eventually.TrueAsync(async () =>
        {
            // 409 while the cut attempt's lease lives, 202 while pspsim still holds the charge; then decided.
            retried?.Dispose();
            retried = await http.SendAsync(GatewayStack.Request(HttpMethod.Post, "/v1/payments", token, GatewayStack.PaymentBody(4200), key));
            return retried.StatusCode is not (HttpStatusCode.Conflict or HttpStatusCode.Accepted);
        }, TimeSpan.FromSeconds(20), "the retry takes the payment over");
        Assert.Equal(HttpStatusCode.Created, retried!.StatusCode);
        using var payment = JsonDocument.Parse(await retried.Content.ReadAsStringAsync());
        var paymentId = payment.RootElement.GetProperty("id").GetString()!;

        using var replay = await http.SendAsync(GatewayStack.Request(HttpMethod.Post, "/v1/payments", token, GatewayStack.PaymentBody(4200), key));
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(1, await stack.PaymentIntentCountAsync(paymentId));
        Assert.Equal(11, await stack.PaymentRowsAsync());
        retried.Dispose();
    }
}

/// <summary>A gateway whose payment service is down or stuck: it answers, with a problem, within its timeout.</summary>
public sealed class GatewayUnavailableTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task Every_api_instance_down_is_503_problem_with_Retry_After_at_once()
    {
        await using var gateway = await StartGatewayAsync($"http://127.0.0.1:{FreePort.Next()};http://127.0.0.1:{FreePort.Next()}", requestTimeoutMs: 10_000);
        using (await gateway.Http.SendAsync(GatewayStack.Request(HttpMethod.Get, $"/v1/payments/{Guid.NewGuid()}", gateway.Token)))
        {
            // The first request of a fresh process pays for JIT compilation; the second is timed.
        }
        var elapsed = Stopwatch.StartNew();

        using var response = await gateway.Http.SendAsync(GatewayStack.Request(HttpMethod.Post, "/v1/payments", gateway.Token,
            GatewayStack.PaymentBody(), Guid.NewGuid().ToString()));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(Payrail.Api.Problems.ServiceUnavailable, await response.Content.ReadAsStringAsync());
        Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
        // Refused connections fail in microseconds: far below the 10 s request timeout, even on a busy machine.
        Assert.InRange(elapsed.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task An_api_that_accepts_but_never_answers_is_504_problem_within_the_request_timeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        await using var gateway = await StartGatewayAsync($"http://127.0.0.1:{port}", requestTimeoutMs: 500);
        var elapsed = Stopwatch.StartNew();

        using var response = await gateway.Http.SendAsync(GatewayStack.Request(HttpMethod.Get, $"/v1/payments/{Guid.NewGuid()}", gateway.Token));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains(Payrail.Api.Problems.UpstreamTimeout, await response.Content.ReadAsStringAsync());
        Assert.InRange(elapsed.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(3));
    }

    private async Task<LoneGateway> StartGatewayAsync(string apiUrls, int requestTimeoutMs)
    {
        var key = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:Urls"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["Gateway:ManagementUrls"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["Gateway:ApiUrls"] = apiUrls,
            ["Gateway:RequestTimeoutMs"] = requestTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Gateway:ConnectTimeoutMs"] = "200",
            ["Redis:Configuration"] = redis.Configuration,
            ["Auth:SigningKey"] = key,
            ["Logging:LogLevel:Default"] = "Warning",
        }).Build();
        var app = GatewayHost.Build(configuration);
        await app.StartAsync();
        var token = DevTokens.Issue(AuthOptions.From(configuration), Roles.Buyer, "buyer_down", null, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow);
        return new LoneGateway(app, new HttpClient { BaseAddress = new Uri(configuration["Gateway:Urls"]!), Timeout = TimeSpan.FromSeconds(30) }, token);
    }

    private sealed record LoneGateway(Microsoft.AspNetCore.Builder.WebApplication App, HttpClient Http, string Token) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await App.DisposeAsync();
        }
    }
}

using System.Net;
using Payrail.Auth;
using StackExchange.Redis;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Gateway;

/// <summary>Two gateway instances sharing one Redis, with the buyer limit: 10 requests/s, burst 20.</summary>
public sealed class TwoGatewaysStack : GatewayStack
{
    protected override int GatewayInstances => 2;

    // These tests are about the shared bucket: a Redis answer slower than the production 100 ms on a loaded test machine
    // would switch a gateway to its local bucket (each lets ~29 through: 58 seen in a CI run). The fallback has its own test.
    protected override IEnumerable<KeyValuePair<string, string?>> GatewaySettings => [new("Gateway:RateLimit:RedisTimeoutMs", "5000")];
}

/// <summary>
/// Issue 12's shared rate limit. The gateways' clock is moved by the test, 10 ms per request, so "100 requests in
/// 1 s" is exact and nothing sleeps: a bucket of 20 refilled at 10/s over 0.99 s lets 29 through.
/// </summary>
public sealed class GatewayRateLimitTests(TwoGatewaysStack stack) : IClassFixture<TwoGatewaysStack>
{
    private const int Requests = 100;
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(10);

    [Fact]
    public async Task A_buyer_sending_100_requests_in_1_s_through_two_gateways_gets_about_30_through_in_total_and_another_buyer_is_unaffected()
    {
        var alice = stack.Token(Roles.Buyer, "alice_" + Guid.NewGuid().ToString("N")[..8]);
        var bob = stack.Token(Roles.Buyer, "bob_" + Guid.NewGuid().ToString("N")[..8]);
        var arrivedBefore = stack.ArrivedCount;

        var (aliceThrough, bobThrough) = (0, 0);
        for (var i = 0; i < Requests; i++)
        {
            // Alternating gateways: a per-instance limiter would let each through ~25 (about 50 in total).
            if (await IsThroughAsync(i % 2, alice)) aliceThrough++;
            if (await IsThroughAsync((i + 1) % 2, bob)) bobThrough++;
            stack.Clock.Advance(Step);
        }

        Assert.InRange(aliceThrough, 28, 31);
        Assert.InRange(bobThrough, 28, 31);
        Assert.Equal(arrivedBefore + aliceThrough + bobThrough, stack.ArrivedCount);
    }

    [Fact]
    public async Task A_refused_request_is_429_problem_with_Retry_After_and_the_IETF_rate_limit_headers()
    {
        var carol = stack.Token(Roles.Buyer, "carol_" + Guid.NewGuid().ToString("N")[..8]);
        for (var i = 0; i < 20; i++) Assert.True(await IsThroughAsync(i % 2, carol));

        using var http = stack.Client(1);
        using var refused = await http.SendAsync(GatewayStack.Request(HttpMethod.Get, $"/v1/payments/{Guid.NewGuid()}", carol));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains(Payrail.Api.Problems.RateLimited, await refused.Content.ReadAsStringAsync());
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Equal("\"buyer\";q=20;w=2", Assert.Single(refused.Headers.GetValues("RateLimit-Policy")));
        Assert.Equal("\"buyer\";r=0;t=2", Assert.Single(refused.Headers.GetValues("RateLimit")));
    }

    [Fact]
    public async Task A_callers_bucket_key_in_Redis_expires_once_it_would_be_full_again()
    {
        var sub = "dave_" + Guid.NewGuid().ToString("N")[..8];
        Assert.True(await IsThroughAsync(0, stack.Token(Roles.Buyer, sub)));

        await using var redis = await ConnectionMultiplexer.ConnectAsync(stack.Redis.Configuration);
        var ttl = await redis.GetDatabase().KeyTimeToLiveAsync($"rl:buyer:{sub}");

        // 20 requests at 10/s refill in 2 s, plus 1 s of margin.
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task With_Redis_stopped_each_gateway_still_limits_locally_and_the_shared_limit_resumes_when_Redis_is_back()
    {
        await stack.Redis.StopAsync();
        try
        {
            var erin = stack.Token(Roles.Buyer, "erin_" + Guid.NewGuid().ToString("N")[..8]);
            var through = 0;
            for (var i = 0; i < Requests; i++)
            {
                if (await IsThroughAsync(0, erin)) through++;
                stack.Clock.Advance(Step);
            }
            Assert.InRange(through, 28, 31);
            using var management = new HttpClient { BaseAddress = new Uri(stack.GatewayManagementUrls[0]) };
            var metrics = await management.GetStringAsync("/metrics");
            Assert.Contains("payrail_gateway_rate_limit_redis_failures_total", metrics);
            Assert.Contains("store=\"local\"", metrics);
        }
        finally
        {
            await stack.Redis.StartAsync();
        }

        // Back: once the retry interval has passed and its client has reconnected, each gateway decides in Redis again.
        await using var redis = await ConnectionMultiplexer.ConnectAsync(stack.Redis.Configuration);
        for (var gateway = 0; gateway < 2; gateway++)
        {
            var probe = $"frank{gateway}_" + Guid.NewGuid().ToString("N")[..8];
            var through = gateway;
            await Eventually.TrueAsync(async () =>
            {
                stack.Clock.Advance(TimeSpan.FromMilliseconds(1_100));
                await IsThroughAsync(through, stack.Token(Roles.Buyer, probe));
                return await redis.GetDatabase().KeyExistsAsync($"rl:buyer:{probe}");
            }, TimeSpan.FromSeconds(20), $"gateway {gateway} decides in Redis again");
        }
        stack.Clock.Advance(TimeSpan.FromMilliseconds(1_100));

        var grace = stack.Token(Roles.Buyer, "grace_" + Guid.NewGuid().ToString("N")[..8]);
        var shared = 0;
        for (var i = 0; i < Requests; i++)
        {
            if (await IsThroughAsync(i % 2, grace)) shared++;
            stack.Clock.Advance(Step);
        }
        Assert.InRange(shared, 28, 31);
    }

    /// <summary>One GET through gateway <paramref name="gateway"/>: true unless the gateway refused it with 429.</summary>
    private async Task<bool> IsThroughAsync(int gateway, string token)
    {
        using var http = stack.Client(gateway);
        using var response = await http.SendAsync(GatewayStack.Request(HttpMethod.Get, $"/v1/payments/{Guid.NewGuid()}", token));
        Assert.NotEqual(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        return response.StatusCode != HttpStatusCode.TooManyRequests;
    }
}

using System.Diagnostics;
using Payrail.Testing;
using StackExchange.Redis;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>Its own Redis, because these tests stop it.</summary>
public sealed class RedisOutageFixture : PaymentsApiFixture;

/// <summary>DESIGN.md step 3: "Redis unreachable → the same answers from PostgreSQL alone (slower, still correct)".</summary>
public sealed class RedisOutageTests(RedisOutageFixture api) : IClassFixture<RedisOutageFixture>
{
    [Fact]
    public async Task Answers_stay_correct_while_Redis_is_down_and_Redis_is_used_again_when_it_is_back()
    {
        var buyer = "b_" + Guid.NewGuid().ToString("N")[..10];
        var token = api.BuyerToken(buyer);
        using var redis = await ConnectionMultiplexer.ConnectAsync(api.Redis.Configuration);

        var before = await api.PostPaymentAsync(token, "key-before", PaymentsApiFixture.Body(amount: 100));
        Assert.Equal(201, before.Status);
        Assert.True(await redis.GetDatabase().KeyExistsAsync(RedisKey(buyer, "key-before")), "a completed key is cached in Redis");

        await api.Redis.StopAsync();
        try
        {
            var watch = Stopwatch.StartNew();
            var during = await api.PostPaymentAsync(token, "key-during", PaymentsApiFixture.Body(amount: 200));
            var replayDuring = await api.PostPaymentAsync(token, "key-during", PaymentsApiFixture.Body(amount: 200));
            var replayBefore = await api.PostPaymentAsync(token, "key-before", PaymentsApiFixture.Body(amount: 100));
            var mismatch = await api.PostPaymentAsync(token, "key-during", PaymentsApiFixture.Body(amount: 201));
            watch.Stop();
            var ready = await api.Http.GetStringAsync("/readyz");

            Assert.Equal(201, during.Status);
            Assert.Equal("captured", during.PaymentStatus);
            Assert.Equal(201, replayDuring.Status);
            Assert.Equal(during.Body, replayDuring.Body);
            Assert.Equal("true", replayDuring.Headers["Idempotent-Replayed"]);
            Assert.Equal(before.Body, replayBefore.Body);
            Assert.Equal("true", replayBefore.Headers["Idempotent-Replayed"]);
            Assert.Equal(422, mismatch.Status);
            Assert.Contains("\"degraded\"", ready);
            // Redis calls are bounded and short-circuited: four requests, not four connect timeouts each.
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"requests took {watch.Elapsed} with Redis down");
            Assert.Equal(2, await api.ScalarAsync("SELECT count(*) FROM payments WHERE buyer_id = @b", ("b", buyer)));
        }
        finally
        {
            await api.Redis.StartAsync();
        }

        // Back: new payments are cached in Redis again (reconnection is automatic, so wait for it with a deadline).
        var attempt = 0;
        await Eventually.TrueAsync(async () =>
        {
            var key = $"key-after-{attempt++}";
            var after = await api.PostPaymentAsync(token, key, PaymentsApiFixture.Body(amount: 300));
            Assert.Equal(201, after.Status);
            try
            {
                return await redis.GetDatabase().KeyExistsAsync(RedisKey(buyer, key));
            }
            catch (RedisConnectionException)
            {
                return false; // the test's own client is reconnecting after the restart too
            }
        }, TimeSpan.FromSeconds(20), "a new payment's key is cached in Redis once Redis is back");
        Assert.Contains("\"ready\"", await api.Http.GetStringAsync("/readyz"));
    }

    [Fact]
    public async Task A_Redis_that_lost_its_data_is_refilled_from_PostgreSQL()
    {
        var buyer = "b_" + Guid.NewGuid().ToString("N")[..10];
        var token = api.BuyerToken(buyer);
        using var redis = await ConnectionMultiplexer.ConnectAsync(api.Redis.Configuration);
        var first = await api.PostPaymentAsync(token, "key-lost", PaymentsApiFixture.Body(amount: 150));
        await redis.GetDatabase().KeyDeleteAsync(RedisKey(buyer, "key-lost"));

        var replay = await api.PostPaymentAsync(token, "key-lost", PaymentsApiFixture.Body(amount: 150));

        Assert.Equal(first.Body, replay.Body);
        Assert.Equal("true", replay.Headers["Idempotent-Replayed"]);
        var cached = (string?)await redis.GetDatabase().StringGetAsync(RedisKey(buyer, "key-lost"));
        Assert.Contains("\"completed\"", cached);
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM payments WHERE buyer_id = @b", ("b", buyer)));
    }

    [Fact]
    public async Task A_stale_in_flight_lease_in_Redis_does_not_hide_a_completed_payment()
    {
        var buyer = "b_" + Guid.NewGuid().ToString("N")[..10];
        var token = api.BuyerToken(buyer);
        using var redis = await ConnectionMultiplexer.ConnectAsync(api.Redis.Configuration);
        var first = await api.PostPaymentAsync(token, "key-stale", PaymentsApiFixture.Body(amount: 160));
        // What Redis would hold had the completion been written while Redis was unreachable: the first lease.
        var completed = (string)(await redis.GetDatabase().StringGetAsync(RedisKey(buyer, "key-stale")))!;
        var fingerprint = System.Text.Json.JsonDocument.Parse(completed).RootElement.GetProperty("fingerprint").GetString();
        var lease = $$"""{"state":"processing","fingerprint":"{{fingerprint}}","lease_expires_at_ms":{{DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeMilliseconds()}},"status":0,"body":null}""";
        await redis.GetDatabase().StringSetAsync(RedisKey(buyer, "key-stale"), lease);

        var replay = await api.PostPaymentAsync(token, "key-stale", PaymentsApiFixture.Body(amount: 160));

        Assert.Equal(201, replay.Status);
        Assert.Equal(first.Body, replay.Body);
        Assert.Contains("\"completed\"", (string?)await redis.GetDatabase().StringGetAsync(RedisKey(buyer, "key-stale")));
    }

    [Fact]
    public async Task A_key_past_its_retention_is_forgotten_and_makes_a_new_payment()
    {
        var buyer = "b_" + Guid.NewGuid().ToString("N")[..10];
        var token = api.BuyerToken(buyer);
        using var redis = await ConnectionMultiplexer.ConnectAsync(api.Redis.Configuration);
        var first = await api.PostPaymentAsync(token, "key-old", PaymentsApiFixture.Body(amount: 170));

        api.Clock.Offset = TimeSpan.FromHours(25);
        try
        {
            // Redis expires the key by its own TTL (EX 86400); here it is dropped by hand, PostgreSQL sees 25 h pass.
            await redis.GetDatabase().KeyDeleteAsync(RedisKey(buyer, "key-old"));
            var again = await api.PostPaymentAsync(token, "key-old", PaymentsApiFixture.Body(amount: 170));

            Assert.Equal(201, again.Status);
            Assert.False(again.Headers.ContainsKey("Idempotent-Replayed"));
            Assert.NotEqual(first.PaymentId, again.PaymentId);
            Assert.Equal(2, await api.ScalarAsync("SELECT count(*) FROM payments WHERE buyer_id = @b", ("b", buyer)));
            Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM idempotency_keys WHERE key = 'key-old' AND scope LIKE @s", ("s", $"buyer:{buyer}:%")));
        }
        finally
        {
            api.Clock.Offset = TimeSpan.Zero;
        }
    }

    private static string RedisKey(string buyer, string key) => $"idem:buyer:{buyer}:POST /v1/payments:{key}";
}

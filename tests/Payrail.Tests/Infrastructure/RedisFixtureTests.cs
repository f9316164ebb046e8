using Payrail.Testing;
using StackExchange.Redis;
using Xunit;

namespace Payrail.Tests.Infrastructure;

public sealed class RedisFixtureTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task Redis_stops_and_starts_on_the_same_port_as_an_empty_cache_and_clients_reconnect()
    {
        var options = ConfigurationOptions.Parse(redis.Configuration);
        options.ReconnectRetryPolicy = new LinearRetry(100); // reconnect promptly once the server is back
        await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
        var key = $"outage:{Guid.NewGuid():N}";
        await connection.GetDatabase().StringSetAsync(key, "cached");

        await redis.StopAsync();
        await Assert.ThrowsAnyAsync<RedisException>(() => connection.GetDatabase().PingAsync());
        await redis.StartAsync();

        await Eventually.TrueAsync(async () =>
        {
            try { await connection.GetDatabase().PingAsync(); return true; }
            catch (RedisException) { return false; }
        }, TimeSpan.FromSeconds(15), "the client reconnects to the restarted server");
        // A cache: nothing was persisted (PostgreSQL holds the truth).
        Assert.False(await connection.GetDatabase().KeyExistsAsync(key));
    }

    [Fact]
    public async Task Redis_refuses_clients_without_the_password()
    {
        var options = ConfigurationOptions.Parse(redis.Configuration);
        options.Password = null;
        options.AbortOnConnectFail = true;

        // Refused either at the handshake or at the first command, never written.
        await Assert.ThrowsAnyAsync<RedisException>(async () =>
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
            await connection.GetDatabase().StringSetAsync("anonymous", "write");
        });
    }
}

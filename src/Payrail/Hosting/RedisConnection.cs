using StackExchange.Redis;

namespace Payrail.Hosting;

/// <summary>
/// How a role connects to Redis, a cache in front of PostgreSQL: start without it when it is down, keep every call within
/// <c>timeoutMs</c>, reconnect quickly when it is back, and say so in the log.
/// </summary>
public static class RedisConnection
{
    /// <param name="failFast">No backlog of commands queued while disconnected (each caller would wait for the reconnect).</param>
    public static ConnectionMultiplexer Connect(IServiceProvider services, int timeoutMs, bool failFast)
    {
        var options = ConfigurationOptions.Parse(services.GetRequiredService<RedisEndpoint>().Configuration);
        options.AbortOnConnectFail = false;
        if (failFast) options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ConnectTimeout = Math.Max(timeoutMs, 500);
        options.AsyncTimeout = timeoutMs;
        options.SyncTimeout = timeoutMs;
        options.ConnectRetry = 1;
        options.ReconnectRetryPolicy = new LinearRetry(250);
        options.KeepAlive = 5;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Payrail.Redis");
        var redis = ConnectionMultiplexer.Connect(options);
        redis.ConnectionFailed += (_, e) => logger.LogWarning("Redis connection lost: {FailureType}", e.FailureType);
        redis.ConnectionRestored += (_, _) => logger.LogInformation("Redis connection restored");
        return redis;
    }
}

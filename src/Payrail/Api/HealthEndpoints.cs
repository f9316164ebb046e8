using Npgsql;
using Payrail.Idempotency;

namespace Payrail.Api;

/// <summary>
/// Liveness and readiness. Ready means "can take payments correctly": PostgreSQL is required;
/// Redis is not (idempotency falls back to PostgreSQL alone), so Redis down answers 200 "degraded".
/// The public listener tells the status only (enough for a load balancer); the management listener also names
/// each component's state.
/// </summary>
public static class HealthEndpoints
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Json(new { status = "ok" }));
        app.MapGet("/readyz", ReadyAsync);
        return app;
    }

    private static async Task<IResult> ReadyAsync(HttpContext http, ManagementListener management, NpgsqlDataSource database,
        StackExchange.Redis.IConnectionMultiplexer redis, RedisIdempotencyCache cache)
    {
        var postgresUp = false;
        try
        {
            using var deadline = new CancellationTokenSource(ProbeTimeout);
            await using var command = database.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(deadline.Token);
            postgresUp = true;
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
        {
        }

        var redisUp = redis.IsConnected && cache.IsAvailable;
        var status = !postgresUp ? "unavailable" : redisUp ? "ready" : "degraded";
        var statusCode = postgresUp ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        if (!management.Serves(http)) return Results.Json(new { status }, statusCode: statusCode);
        return Results.Json(new { status, postgres = postgresUp ? "up" : "down", redis = redisUp ? "up" : "down" },
            statusCode: statusCode);
    }
}

using Npgsql;

namespace Payrail.Hosting;

/// <summary>
/// One thing a role's readiness depends on. A required component down makes the role unavailable (503); an optional
/// one down leaves it degraded but serving (200), as Redis is for the API (idempotency falls back to PostgreSQL).
/// </summary>
public sealed record ReadinessComponent(string Name, bool Required, Func<CancellationToken, Task<bool>> IsUpAsync)
{
    /// <summary>PostgreSQL, the truth of every role: required.</summary>
    public static ReadinessComponent Postgres(NpgsqlDataSource database) => new("postgres", Required: true, async cancellationToken =>
    {
        try
        {
            await using var command = database.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return false;
        }
    });
}

/// <summary>
/// Liveness and readiness of every role. Ready means "can do its work correctly" (each <see cref="ReadinessComponent"/>).
/// A public listener tells the status only (enough for a load balancer); the management listener also names each
/// component's state.
/// </summary>
public static class HealthEndpoints
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Json(new { status = "ok" })).ExcludeFromDescription();
        app.MapGet("/readyz", ReadyAsync).ExcludeFromDescription();
        return app;
    }

    private static async Task<IResult> ReadyAsync(HttpContext http, ManagementListener management, IEnumerable<ReadinessComponent> components)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        deadline.CancelAfter(ProbeTimeout);
        var probes = components.Select(async c => (Component: c, Up: await c.IsUpAsync(deadline.Token))).ToList();
        var states = await Task.WhenAll(probes);

        var status = states.Any(s => s.Component.Required && !s.Up) ? "unavailable" : states.All(s => s.Up) ? "ready" : "degraded";
        var statusCode = status == "unavailable" ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        if (!management.Serves(http)) return Results.Json(new Dictionary<string, string> { ["status"] = status }, statusCode: statusCode);
        var body = new Dictionary<string, string> { ["status"] = status };
        foreach (var (component, up) in states) body[component.Name] = up ? "up" : "down";
        return Results.Json(body, statusCode: statusCode);
    }
}

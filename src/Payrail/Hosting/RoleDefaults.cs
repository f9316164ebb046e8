using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.Metrics;
using Npgsql;
using OpenTelemetry.Metrics;
using Payrail.DevEnvironment;

namespace Payrail.Hosting;

/// <summary>
/// What sets a role apart in the defaults: its name, its database pool (null: the role never touches PostgreSQL),
/// whether it uses Redis, its listeners.
/// </summary>
public sealed record PayrailRole(string Name, string ManagementDefaultUrls, bool UsesRedis,
    Func<string, PostgresOptions, NpgsqlDataSource>? CreatePool)
{
    /// <summary>The payment service: public listener plus management on 9081, Redis in front of idempotency.</summary>
    public static readonly PayrailRole Api = new("api", ManagementListener.DefaultUrls, UsesRedis: true,
        (connectionString, postgres) => PostgresPool.ForApi(connectionString, postgres.Api));

    /// <summary>Background loops: management listener only (9082, free in DESIGN.md's table), no Redis yet.</summary>
    public static readonly PayrailRole Worker = new("worker", "http://127.0.0.1:9082", UsesRedis: false,
        (connectionString, postgres) => PostgresPool.ForWorker(connectionString, postgres.Worker));

    /// <summary>
    /// The API gateway: public 8080 (DESIGN.md) plus management on 9080 (free in DESIGN.md's table), Redis for the shared
    /// rate limit, no database: it decides from the token and Redis alone, so a database outage never closes the door.
    /// </summary>
    public static readonly PayrailRole Gateway = new("gateway", "http://127.0.0.1:9080", UsesRedis: true, CreatePool: null);

    /// <summary>
    /// The merchant dashboard: public 8082 (DESIGN.md) plus management on 9083 (free in DESIGN.md's table), its own
    /// database pool, no Redis (sessions are the signed token in a cookie; the live stream is read from PostgreSQL).
    /// </summary>
    public static readonly PayrailRole Dashboard = new("dashboard", "http://127.0.0.1:9083", UsesRedis: false,
        (connectionString, postgres) => PostgresPool.ForDashboard(connectionString, postgres.Dashboard));

    /// <summary>Configuration section of the role's own settings (<c>Api</c>, <c>Worker</c>).</summary>
    public string Section => char.ToUpperInvariant(Name[0]) + Name[1..];
}

/// <summary>
/// What every role shares, added once (eShop's ServiceDefaults): one configuration source, console logging, one
/// <see cref="TimeProvider"/>, OpenTelemetry metrics served as Prometheus on the management listener, /healthz and
/// /readyz, and the Postgres, Redis and Kafka settings, all checked before anything starts. A broken setting throws
/// <see cref="InvalidSettingsException"/> naming every broken setting at once.
/// </summary>
public static class RoleDefaults
{
    /// <summary>
    /// A builder for <paramref name="role"/> with the shared defaults. <paramref name="publicUrls"/> is the role's public
    /// listener (null: management only).
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(IConfiguration configuration, PayrailRole role, string? publicUrls)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        // One configuration source for every role (PayrailConfiguration), not the web host's defaults.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(configuration);
        builder.AddPayrailDefaults(role, publicUrls);
        return builder;
    }

    public static WebApplicationBuilder AddPayrailDefaults(this WebApplicationBuilder builder, PayrailRole role, string? publicUrls)
    {
        var configuration = builder.Configuration;
        var postgres = InvalidSettingsException.Bind<PostgresOptions>(configuration, PostgresOptions.SectionName);
        var redis = InvalidSettingsException.Bind<RedisOptions>(configuration, RedisOptions.SectionName);
        var kafka = InvalidSettingsException.Bind<KafkaOptions>(configuration, KafkaOptions.SectionName);
        InvalidSettingsException.ThrowIfAny(
            [.. postgres.Problems(), .. redis.Problems(), .. kafka.Problems(), .. RoleLogging.Problems(configuration)]);
        var connectionString = role.CreatePool is null ? null : postgres.ResolveConnectionString(configuration);
        var management = ManagementListener.From(configuration, role.Section, role.ManagementDefaultUrls, publicUrls);

        builder.WebHost.UseUrls(publicUrls is null ? management.Urls : $"{publicUrls};{management.Urls}");
        RoleLogging.Configure(builder.Logging, configuration);
        var services = builder.Services;
        services.AddSingleton(role);
        services.AddSingleton(management);
        services.AddSingleton(postgres);
        services.AddSingleton(redis);
        services.AddSingleton(kafka);
        if (role.UsesRedis) services.AddSingleton(new RedisEndpoint(redis.ResolveConfiguration(configuration, DevSecrets.ForProject())));
        services.TryAddSingleton(TimeProvider.System);
        if (role.CreatePool is { } createPool)
        {
            services.TryAddSingleton<NpgsqlDataSource>(_ => createPool(connectionString!, postgres));
            services.AddSingleton(sp => ReadinessComponent.Postgres(sp.GetRequiredService<NpgsqlDataSource>()));
        }
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            // .NET's own meter: GC pause time and counts, heap sizes, thread-pool queue (what a latency stall is made of).
            .AddMeter("System.Runtime")
            .AddPrometheusExporter());
        // ASP.NET Core's meters (http.server.request.duration and Kestrel's connections), what AddAspNetCoreInstrumentation
        // names, but each host's own.
        services.AddPayrailMeters("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Http.Connections",
            "Microsoft.AspNetCore.Routing", "Microsoft.AspNetCore.Diagnostics", "Microsoft.AspNetCore.RateLimiting");
        return builder;
    }

    /// <summary>
    /// Exports Payrail's meters of these names, only as this host's own container made them (<c>MeterScope.Local</c>).
    /// The OpenTelemetry SDK's own <c>AddMeter</c> matches a meter by name in the whole process: with several hosts in one
    /// process (the tests), each host exported the others' meters too, and one host stopping ended the streams another
    /// still recorded into (a worker's /metrics then held no payrail_* metric at all).
    /// </summary>
    public static IServiceCollection AddPayrailMeters(this IServiceCollection services, params string[] meterNames) =>
        services.AddMetrics(metrics =>
        {
            foreach (var name in meterNames) metrics.EnableMetrics(name, instrumentName: null, listenerName: OpenTelemetryListener, MeterScope.Local);
        });

    /// <summary>The name of the metrics listener that <c>WithMetrics</c> registers.</summary>
    private const string OpenTelemetryListener = "OpenTelemetry";

    /// <summary>/metrics on the management listener only (on a public one it falls through to a 404), /healthz and /readyz.</summary>
    public static WebApplication UsePayrailManagement(this WebApplication app)
    {
        var management = app.Services.GetRequiredService<ManagementListener>();
        // Matched by the port the request arrived on, never by the Host header.
        app.UseOpenTelemetryPrometheusScrapingEndpoint(http => management.Serves(http) && http.Request.Path == "/metrics");
        app.MapHealthEndpoints();
        return app;
    }
}

/// <summary>The Redis configuration string a role connects with: <c>Redis:Configuration</c> or the local server's.</summary>
public sealed record RedisEndpoint(string Configuration);

using Microsoft.Extensions.DependencyInjection.Extensions;
using Payrail.Api;
using Payrail.Auth;
using Payrail.Hosting;
using StackExchange.Redis;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace Payrail.Gateway;

/// <summary>
/// `payrail gateway`'s composition root (DESIGN.md step 1): JWT validation with the API's issuer, audience and keys,
/// the caller's rate limit shared in Redis, body and header limits, and YARP forwarding <c>/v1/**</c> and
/// <c>/webhooks/**</c> to the payment-service instances. `payrail gateway`, `payrail up` and tests build it here.
/// </summary>
public static class GatewayHost
{
    public static WebApplication Build(IConfiguration configuration, Action<IServiceCollection>? configureServices = null)
    {
        var options = InvalidSettingsException.Bind<GatewayOptions>(configuration, GatewayOptions.SectionName);
        InvalidSettingsException.ThrowIfAny(options.Problems());
        var builder = RoleDefaults.CreateBuilder(configuration, PayrailRole.Gateway, options.Urls);
        builder.WebHost.ConfigureKestrel(kestrel => options.ApplyTo(kestrel.Limits));
        var services = builder.Services;
        services.AddSingleton(options);
        services.AddProblemDetails(o => o.CustomizeProblemDetails = Problems.UseOwnTypes);
        services.AddPayrailJwt(AuthOptions.From(configuration));
        services.AddSingleton(EdgeTraceContext.InboundPropagator(options));
        // Fail fast while Redis is away: the local buckets decide meanwhile, no request waits for a reconnect.
        services.TryAddSingleton<IConnectionMultiplexer>(sp => RedisConnection.Connect(sp, options.RateLimit.RedisTimeoutMs, failFast: true));
        services.AddSingleton<CallerRateLimiter>();
        services.AddSingleton(sp => new ReadinessComponent("redis", Required: false,
            _ => Task.FromResult(sp.GetRequiredService<IConnectionMultiplexer>().IsConnected)));
        // Optional: with every instance down the gateway still answers (503 at once); taking it out of a load
        // balancer would not help, every gateway instance forwards to the same payment service.
        services.AddSingleton(sp => new ReadinessComponent("api", Required: false,
            _ => Task.FromResult(AnyInstanceHealthy(sp.GetRequiredService<IProxyStateLookup>()))));
        services.AddReverseProxy()
            .LoadFromMemory(GatewayRoutes.Routes(), GatewayRoutes.Clusters(options))
            .ConfigureHttpClient((_, handler) => handler.ConnectTimeout = TimeSpan.FromMilliseconds(options.ConnectTimeoutMs));
        services.AddPayrailMeters(CallerRateLimiter.MeterName);
        configureServices?.Invoke(services);

        var app = builder.Build();
        // Connect to Redis now (bounded by its connect timeout, never failing), not on the first request's thread.
        app.Services.GetRequiredService<IConnectionMultiplexer>();
        app.UseMiddleware<EdgeTraceContext>();
        app.UseMiddleware<AccessLog>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UsePayrailManagement();
        app.Use(GatewayPipeline.DeclaredBodySize);
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapReverseProxy(proxy =>
        {
            proxy.Use(GatewayPipeline.PublicListenerOnly);
            proxy.Use(GatewayPipeline.RateLimit);
            proxy.Use(GatewayPipeline.BufferedBody);
            proxy.UseSessionAffinity();
            proxy.UseLoadBalancing();
            proxy.Use(UpstreamFailover.Forward);
            proxy.UsePassiveHealthChecks();
        });
        return app;
    }

    private static bool AnyInstanceHealthy(IProxyStateLookup state) =>
        state.TryGetCluster(GatewayRoutes.ClusterId, out var cluster)
        && cluster.Destinations.Values.Any(d => d.Health.Active != DestinationHealth.Unhealthy && d.Health.Passive != DestinationHealth.Unhealthy);
}

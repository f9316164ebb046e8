using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using Payrail.Auth;
using Payrail.Hosting;
using Payrail.Idempotency;
using Payrail.Merchants;
using Payrail.Payments;
using Payrail.Psp.Stripe;
using Payrail.Webhooks;
using StackExchange.Redis;

namespace Payrail.Api;

/// <summary>Everything the payment service (`payrail api`) adds to its container.</summary>
public static class ApiExtensions
{
    public static IServiceCollection AddPaymentService(this IServiceCollection services, IConfiguration configuration)
    {
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower);
        services.AddProblemDetails(o => o.CustomizeProblemDetails = Problems.UseOwnTypes);

        services.AddPayrailJwt(AuthOptions.From(configuration));

        services.AddOptions<IdempotencyOptions>().Bind(configuration.GetSection(IdempotencyOptions.SectionName))
            .Validate(o => o is { LeaseMs: > 0, RetentionHours: > 0, RedisTimeoutMs: > 0, RedisRetryAfterMs: >= 0 }, "Idempotency:LeaseMs, RetentionHours and RedisTimeoutMs must be > 0, Idempotency:RedisRetryAfterMs >= 0")
            .ValidateOnStart();
        services.AddOptions<PaymentsOptions>().Bind(configuration.GetSection(PaymentsOptions.SectionName))
            .Validate(o => o is { SyncBudgetMs: > 0, MaxVersionRetries: >= 0 and <= 10, MaxTransientRetries: >= 0 and <= 5,
                TransientRetryBackoffMs: >= 0 and <= 100, MaxPspAttempts: >= 1 and <= 10 }, "Payments:SyncBudgetMs must be > 0, MaxVersionRetries within [0, 10], MaxTransientRetries within [0, 5], TransientRetryBackoffMs within [0, 100], MaxPspAttempts within [1, 10]")
            .ValidateOnStart();

        services.TryAddSingleton<IConnectionMultiplexer>(sp => ConnectRedis(configuration, sp));

        services.AddStripeConnector(configuration);
        services.AddSingleton<PaymentStore>();
        services.AddSingleton<IdempotencyStore>();
        services.AddSingleton<KnownMerchants>();
        services.AddSingleton<RedisIdempotencyCache>();
        services.AddSingleton<PaymentMetrics>();
        services.TryAddSingleton<PaymentCrashPoints>();
        services.AddSingleton<IdempotencyGate>();
        services.AddSingleton<PaymentTransitions>();
        services.AddSingleton<PspOutcomeResolution>();
        services.AddSingleton<PaymentCreation>();
        services.AddOptions<WebhookOptions>().Bind(configuration.GetSection(WebhookOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WebhookOptions>>(new NamedProblemsValidation<WebhookOptions>(o => o.Problems()));
        services.AddSingleton<WebhookMetrics>();
        services.AddSingleton<WebhookEvents>();
        services.AddSingleton<PspWebhookReceiver>();

        services.AddSingleton(sp => new ReadinessComponent("redis", Required: false, _ =>
            Task.FromResult(sp.GetRequiredService<IConnectionMultiplexer>().IsConnected && sp.GetRequiredService<RedisIdempotencyCache>().IsAvailable)));
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(PaymentMetrics.MeterName, WebhookMetrics.MeterName));
        return services;
    }

    /// <summary>
    /// Redis is a cache in front of PostgreSQL: connect without failing when it is down, keep every
    /// call short, and reconnect quickly when it is back.
    /// </summary>
    private static ConnectionMultiplexer ConnectRedis(IConfiguration configuration, IServiceProvider services)
    {
        var idempotency = configuration.GetSection(IdempotencyOptions.SectionName).Get<IdempotencyOptions>() ?? new IdempotencyOptions();
        var options = ConfigurationOptions.Parse(services.GetRequiredService<RedisEndpoint>().Configuration);
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = Math.Max(idempotency.RedisTimeoutMs, 500);
        options.AsyncTimeout = idempotency.RedisTimeoutMs;
        options.SyncTimeout = idempotency.RedisTimeoutMs;
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

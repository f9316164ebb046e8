using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Payrail.Auth;
using Payrail.Hosting;
using Payrail.Idempotency;
using Payrail.Merchants;
using Payrail.Payments;
using Payrail.Psp.Stripe;
using Payrail.Refunds;
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

        services.TryAddSingleton<IConnectionMultiplexer>(sp => RedisConnection.Connect(sp,
            (configuration.GetSection(IdempotencyOptions.SectionName).Get<IdempotencyOptions>() ?? new IdempotencyOptions()).RedisTimeoutMs,
            failFast: false));

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
        services.AddSingleton<PaymentOperationStore>();
        services.AddSingleton<PaymentOperations>();
        services.AddRefunds(configuration);
        services.AddSingleton<RefundCreation>();
        services.AddOptions<WebhookOptions>().Bind(configuration.GetSection(WebhookOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WebhookOptions>>(new NamedProblemsValidation<WebhookOptions>(o => o.Problems()));
        services.AddSingleton<WebhookMetrics>();
        services.AddSingleton<WebhookEvents>();
        services.AddSingleton<PspWebhookReceiver>();

        services.AddSingleton(sp => new ReadinessComponent("redis", Required: false, _ =>
            Task.FromResult(sp.GetRequiredService<IConnectionMultiplexer>().IsConnected && sp.GetRequiredService<RedisIdempotencyCache>().IsAvailable)));
        services.AddPayrailMeters(PaymentMetrics.MeterName, WebhookMetrics.MeterName);
        return services;
    }
}

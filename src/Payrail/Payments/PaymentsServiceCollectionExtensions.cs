using Microsoft.Extensions.DependencyInjection.Extensions;
using Payrail.Idempotency;
using Payrail.Psp;
using Payrail.Psp.Stripe;

namespace Payrail.Payments;

public static class PaymentsServiceCollectionExtensions
{
    /// <summary>
    /// The state path every worker job moves payments through (<see cref="PaymentTransitions"/>, its store and metrics),
    /// its settings, and the PSP connector unless the role already has one: the sweeper, settlement and reconciliation
    /// each add it, and a role that runs all three gets it once.
    /// </summary>
    public static IServiceCollection AddPaymentTransitions(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(PaymentTransitions))) return services;
        services.AddOptions<PaymentsOptions>().Bind(configuration.GetSection(PaymentsOptions.SectionName));
        services.AddOptions<IdempotencyOptions>().Bind(configuration.GetSection(IdempotencyOptions.SectionName));
        if (!services.Any(d => d.ServiceType == typeof(IPspConnector))) services.AddStripeConnector(configuration);
        services.TryAddSingleton<PaymentMetrics>();
        services.TryAddSingleton<PaymentStore>();
        services.TryAddSingleton<PaymentTransitions>();
        return services;
    }
}

using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Payrail.Hosting;
using Payrail.Payments;
using Payrail.Psp;
using Payrail.Refunds;
using Payrail.Worker;

namespace Payrail.Sweeper;

public static class SweeperServiceCollectionExtensions
{
    /// <summary><c>Sweeper:Enabled</c> (default true): whether the worker runs the sweeper loop.</summary>
    public static bool Enabled(IConfiguration configuration) =>
        configuration.GetValue<bool?>($"{SweeperOptions.SectionName}:{nameof(SweeperOptions.Enabled)}") ?? true;

    /// <summary>
    /// The sweeper and what it shares with the API: the state path (<see cref="PaymentTransitions"/>), the 5xx resolution
    /// and the PSP connector. Settings are checked at start, each broken one named. <paramref name="runLoop"/>: the worker's
    /// <see cref="SweeperLoop"/>; without it, <see cref="Sweeper"/> runs when asked (`payrail sweep --once`).
    /// </summary>
    public static IServiceCollection AddSweeper(this IServiceCollection services, IConfiguration configuration, bool runLoop)
    {
        services.AddOptions<SweeperOptions>().Bind(configuration.GetSection(SweeperOptions.SectionName)).ValidateOnStart();
        var syncBudgetMs = (configuration.GetSection(PaymentsOptions.SectionName).Get<PaymentsOptions>() ?? new PaymentsOptions()).SyncBudgetMs;
        services.AddSingleton<IValidateOptions<SweeperOptions>>(
            new NamedProblemsValidation<SweeperOptions>(o => o.Problems().Concat(o.ProblemsWith(syncBudgetMs))));
        services.AddOptions<PaymentsOptions>().Bind(configuration.GetSection(PaymentsOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PaymentsOptions>>(
            new NamedProblemsValidation<PaymentsOptions>(o => SweeperOptions.AuthorizationExpiryProblems(o.AuthorizationExpiry)));
        services.AddPaymentTransitions(configuration);
        services.TryAddSingleton<PspOutcomeResolution>();
        services.AddSingleton<SweeperStore>();
        services.AddSingleton<SweeperMetrics>();
        services.AddSingleton<StuckPaymentCheck>();
        services.AddSingleton<ExpiredAuthorizationVoid>();
        services.AddSingleton<EventsCatchUp>();
        services.AddRefunds(configuration);
        services.TryAddSingleton<Payrail.Refunds.PendingRefundCheck>();
        services.AddSingleton<Sweeper>();
        if (runLoop)
        {
            services.AddSingleton<SweeperLoop>();
            services.AddHostedService(sp => sp.GetRequiredService<SweeperLoop>());
            services.AddSingleton(sp => new WorkerLoopReport(SweeperLoop.LoopName, sp.GetRequiredService<SweeperLoop>().Status));
        }
        services.AddPayrailMeters(SweeperMetrics.MeterName, PaymentMetrics.MeterName);
        return services;
    }
}

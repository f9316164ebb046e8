using Microsoft.Extensions.Options;
using Payrail.Hosting;
using Payrail.Payments;
using Payrail.Refunds;
using Payrail.Worker;

namespace Payrail.Reconciliation;

public static class ReconciliationServiceCollectionExtensions
{
    /// <summary><c>Reconciliation:Enabled</c> (default true): whether the worker runs the scheduled reconciliation.</summary>
    public static bool Enabled(IConfiguration configuration) =>
        configuration.GetValue<bool?>($"{ReconciliationOptions.SectionName}:{nameof(ReconciliationOptions.Enabled)}") ?? true;

    /// <summary>
    /// The reconciliation and what it shares with the API: the state paths (<see cref="PaymentTransitions"/>,
    /// <see cref="RefundTransitions"/>) and the PSP connector. <paramref name="runLoop"/>: the worker's
    /// <see cref="ReconciliationLoop"/>; without it, <see cref="WindowReconciliation"/> runs when asked (`payrail reconcile`).
    /// </summary>
    public static IServiceCollection AddReconciliation(this IServiceCollection services, IConfiguration configuration, bool runLoop)
    {
        services.AddOptions<ReconciliationOptions>().Bind(configuration.GetSection(ReconciliationOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ReconciliationOptions>>(new NamedProblemsValidation<ReconciliationOptions>(o => o.Problems()));
        services.AddPaymentTransitions(configuration);
        services.AddRefunds(configuration);
        services.AddSingleton<ReconciliationStore>();
        services.AddSingleton<ReconciliationMetrics>();
        services.AddSingleton<LineReplay>();
        services.AddSingleton<WindowReconciliation>();
        if (runLoop)
        {
            services.AddSingleton<ReconciliationLoop>();
            services.AddHostedService(sp => sp.GetRequiredService<ReconciliationLoop>());
            services.AddSingleton(sp => new WorkerLoopReport(ReconciliationLoop.LoopName, sp.GetRequiredService<ReconciliationLoop>().Status));
        }
        services.AddPayrailMeters(ReconciliationMetrics.MeterName, PaymentMetrics.MeterName);
        return services;
    }
}

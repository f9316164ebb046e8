using Microsoft.Extensions.Options;
using Payrail.Hosting;
using Payrail.Payments;
using Payrail.Worker;

namespace Payrail.Settlement;

public static class SettlementServiceCollectionExtensions
{
    /// <summary><c>Settlement:Enabled</c> (default true): whether the worker runs the scheduled settlement.</summary>
    public static bool Enabled(IConfiguration configuration) =>
        configuration.GetValue<bool?>($"{SettlementOptions.SectionName}:{nameof(SettlementOptions.Enabled)}") ?? true;

    /// <summary>
    /// The settlement and what it shares with the API: the state path (<see cref="PaymentTransitions"/>) and the PSP
    /// connector. <paramref name="runLoop"/>: the worker's <see cref="SettlementLoop"/>; without it, <see cref="DailySettlement"/>
    /// runs when asked (`payrail settle --once`).
    /// </summary>
    public static IServiceCollection AddSettlement(this IServiceCollection services, IConfiguration configuration, bool runLoop)
    {
        services.AddOptions<SettlementOptions>().Bind(configuration.GetSection(SettlementOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SettlementOptions>>(new NamedProblemsValidation<SettlementOptions>(o => o.Problems()));
        services.AddPaymentTransitions(configuration);
        services.AddSingleton<SettlementStore>();
        services.AddSingleton<SettlementMetrics>();
        services.AddSingleton<DailySettlement>();
        if (runLoop)
        {
            services.AddSingleton<SettlementLoop>();
            services.AddHostedService(sp => sp.GetRequiredService<SettlementLoop>());
            services.AddSingleton(sp => new WorkerLoopReport(SettlementLoop.LoopName, sp.GetRequiredService<SettlementLoop>().Status));
        }
        services.AddPayrailMeters(SettlementMetrics.MeterName, PaymentMetrics.MeterName);
        return services;
    }
}

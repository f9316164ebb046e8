using Microsoft.Extensions.Options;
using Payrail.Hosting;
using Payrail.Worker;

namespace Payrail.Outbox;

/// <summary>The worker's outbox relay: its settings (checked at start), the relay loop, its housekeeping, metrics and status line.</summary>
public static class RelayRegistration
{
    public static IServiceCollection AddOutboxRelay(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RelayOptions>().Bind(configuration.GetSection(RelayOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RelayOptions>>(new NamedProblemsValidation<RelayOptions>(o => o.Problems()));
        services.AddSingleton<RelayMetrics>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(RelayMetrics.MeterName));
        if (!configuration.GetValue(RelayOptions.SectionName + ":" + nameof(RelayOptions.Enabled), true)) return services;

        services.AddSingleton(sp => new RelaySessions(PostgresPool.ForSessions(
            RelaySessions.Prepared(sp.GetRequiredService<PostgresOptions>().ResolveConnectionString(configuration)), "payrail-relay")));
        services.AddSingleton<RelayCrashPoints>();
        services.AddSingleton<OutboxRelay>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxRelay>());
        services.AddHostedService<OutboxHousekeeping>();
        services.AddSingleton(sp => new WorkerLoopReport("relay",
            () => sp.GetRequiredService<RelayMetrics>().Summary(sp.GetRequiredService<IOptions<RelayOptions>>().Value.OwnershipPartitions)));
        return services;
    }
}

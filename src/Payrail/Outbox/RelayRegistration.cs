using Microsoft.Extensions.Options;
using Payrail.Hosting;
using Payrail.Worker;

namespace Payrail.Outbox;

/// <summary>The relay instances this worker runs (<see cref="RelayOptions.Instances"/>); tests watch their ownership.</summary>
public sealed record RelayInstances(IReadOnlyList<OutboxRelay> Relays);

/// <summary>The worker's outbox relay: its settings (checked at start), the relay loop, its housekeeping, metrics and status line.</summary>
public static class RelayRegistration
{
    public static IServiceCollection AddOutboxRelay(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RelayOptions>().Bind(configuration.GetSection(RelayOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RelayOptions>>(new NamedProblemsValidation<RelayOptions>(o => o.Problems()));
        services.AddSingleton<RelayMetrics>();
        services.AddPayrailMeters(RelayMetrics.MeterName);
        if (!configuration.GetValue(RelayOptions.SectionName + ":" + nameof(RelayOptions.Enabled), true)) return services;

        services.AddSingleton(sp => new RelaySessions(PostgresPool.ForSessions(
            RelaySessions.Prepared(sp.GetRequiredService<PostgresOptions>().ResolveConnectionString(configuration)), "payrail-relay")));
        services.AddSingleton<RelayCrashPoints>();
        // Relay:Instances relays side by side, each its own session and producer, sharing the partitions as two workers'
        // relays would. Read here to register that many hosted services; out of range, ValidateOnStart stops the worker
        // before any starts (the clamp only keeps the registration itself bounded).
        var instances = Math.Clamp(configuration.GetValue(RelayOptions.SectionName + ":" + nameof(RelayOptions.Instances), new RelayOptions().Instances),
            1, RelayOptions.MaxInstances);
        services.AddSingleton(sp => new RelayInstances(Enumerable.Range(0, instances)
            .Select(_ => ActivatorUtilities.CreateInstance<OutboxRelay>(sp)).ToList()));
        for (var i = 0; i < instances; i++)
        {
            var instance = i;
            // Not AddHostedService: it adds one hosted service per implementation type, and these are one type.
            services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RelayInstances>().Relays[instance]);
        }
        services.AddHostedService<OutboxHousekeeping>();
        services.AddSingleton(sp => new WorkerLoopReport("relay",
            () => sp.GetRequiredService<RelayMetrics>().Summary(sp.GetRequiredService<IOptions<RelayOptions>>().Value.OwnershipPartitions)));
        return services;
    }
}

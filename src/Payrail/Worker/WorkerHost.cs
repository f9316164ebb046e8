using Payrail.Consumers;
using Payrail.Hosting;
using Payrail.Idempotency;
using Payrail.Outbox;
using Payrail.Reconciliation;
using Payrail.Settlement;
using Payrail.Sweeper;

namespace Payrail.Worker;

/// <summary>
/// The worker's composition root (`payrail worker`): the background loops, each a small <see cref="BackgroundService"/>
/// from its feature folder: the idempotency key purge and the stuck-payment sweeper; the outbox relay and the consumers go here.
/// Its only listener is the management one (<c>Worker:ManagementUrls</c>): /healthz, /readyz, /metrics.
/// </summary>
public static class WorkerHost
{
    public static WebApplication Build(IConfiguration configuration, Action<IServiceCollection>? configureServices = null)
    {
        var builder = RoleDefaults.CreateBuilder(configuration, PayrailRole.Worker, publicUrls: null);
        builder.Services.AddIdempotencyKeyPurge(configuration);
        builder.Services.AddOutboxRelay(configuration);
        if (SweeperServiceCollectionExtensions.Enabled(configuration)) builder.Services.AddSweeper(configuration, runLoop: true);
        builder.Services.AddPayrailConsumers(configuration);
        if (SettlementServiceCollectionExtensions.Enabled(configuration)) builder.Services.AddSettlement(configuration, runLoop: true);
        if (ReconciliationServiceCollectionExtensions.Enabled(configuration)) builder.Services.AddReconciliation(configuration, runLoop: true);
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.UsePayrailManagement();
        app.MapWorkerLoops();
        return app;
    }

    private static IServiceCollection AddIdempotencyKeyPurge(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<IdempotencyKeyPurgeOptions>().Bind(configuration.GetSection(IdempotencyKeyPurgeOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<IdempotencyKeyPurgeOptions>>(
            new NamedProblemsValidation<IdempotencyKeyPurgeOptions>(o => o.Problems()));
        services.AddSingleton<IdempotencyKeyPurge>();
        services.AddHostedService(sp => sp.GetRequiredService<IdempotencyKeyPurge>());
        services.AddPayrailMeters(IdempotencyKeyPurge.MeterName);
        return services;
    }
}

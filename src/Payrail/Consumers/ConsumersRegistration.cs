using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Consumers.Accounting;
using Payrail.Consumers.Analytics;
using Payrail.Consumers.Dashboard;
using Payrail.Consumers.Fraud;
using Payrail.Consumers.Loyalty;
using Payrail.Consumers.Notifications;
using Payrail.Hosting;

namespace Payrail.Consumers;

/// <summary>The six consumers in the worker: each enabled handler gets its own <see cref="ConsumerLoop"/> (and group).</summary>
public static class ConsumersRegistration
{
    public static IServiceCollection AddPayrailConsumers(this IServiceCollection services, IConfiguration configuration)
    {
        var options = InvalidSettingsException.Bind<ConsumersOptions>(configuration, ConsumersOptions.SectionName);
        InvalidSettingsException.ThrowIfAny(options.Problems());
        services.AddSingleton(options);
        services.AddSingleton<ConsumerMetrics>();
        services.TryAddSingleton<ConsumerCrashPoints>();
        services.AddSingleton<DeadLetters>();
        services.AddSingleton<ConsumerTopics>();
        services.AddSingleton(sp => ConsumerDatabase.Create(sp.GetRequiredService<PostgresOptions>().ResolveConnectionString(configuration),
            sp.GetRequiredService<PostgresOptions>().Worker));
        services.AddSingleton<DashboardFeed>();
        services.TryAddSingleton<INotificationSender, FileNotificationSender>();
        services.AddPayrailMeters(ConsumerMetrics.MeterName);

        var enabled = options.Enabled;
        if (enabled.Notifications)
        {
            services.AddSingleton<NotificationDispatch>();
            services.AddHostedService(sp => sp.GetRequiredService<NotificationDispatch>());
            Add(services, sp => new NotificationsHandler(sp.GetRequiredService<NotificationDispatch>().Wake, sp.GetRequiredService<TimeProvider>()));
        }
        if (enabled.Fraud) Add(services, _ => new FraudHandler(options));
        if (enabled.Accounting) Add(services, sp => new AccountingHandler(sp.GetRequiredService<ConsumerDatabase>().Source, options,
            sp.GetRequiredService<TimeProvider>()));
        if (enabled.Analytics) Add(services, _ => new AnalyticsHandler());
        if (enabled.Loyalty) Add(services, _ => new LoyaltyHandler(options));
        if (enabled.MerchantDashboard) Add(services, sp => new DashboardHandler(options, sp.GetRequiredService<DashboardFeed>()));
        return services;
    }

    private static void Add(IServiceCollection services, Func<IServiceProvider, IEventHandler> handler) =>
        services.AddSingleton<IHostedService>(sp => new ConsumerLoop(handler(sp), sp.GetRequiredService<ConsumersOptions>(),
            sp.GetRequiredService<KafkaOptions>(), sp.GetRequiredService<ConsumerDatabase>().Source, sp.GetRequiredService<DeadLetters>(),
            sp.GetRequiredService<ConsumerTopics>(), sp.GetRequiredService<ConsumerMetrics>(),
            sp.GetRequiredService<ConsumerCrashPoints>(), sp.GetRequiredService<ILogger<ConsumerLoop>>()));
}

using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Payrail.Hosting;

namespace Payrail.Refunds;

public static class RefundsServiceCollectionExtensions
{
    /// <summary>What moves refunds in any role (the API's requests and webhooks, the worker's sweeper): one path.</summary>
    public static IServiceCollection AddRefunds(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(RefundStore))) return services;
        services.AddOptions<RefundsOptions>().Bind(configuration.GetSection(RefundsOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RefundsOptions>>(new NamedProblemsValidation<RefundsOptions>(o => o.Problems()));
        services.TryAddSingleton<RefundStore>();
        services.TryAddSingleton<RefundTransitions>();
        return services;
    }
}

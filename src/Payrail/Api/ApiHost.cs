using Payrail.Consumers;
using Payrail.Hosting;
using Payrail.Merchants;
using Payrail.Payments;
using Payrail.Refunds;
using Payrail.Webhooks;

namespace Payrail.Api;

/// <summary>The payment service's composition root: `payrail api`, `payrail up` and tests build it here.</summary>
public static class ApiHost
{
    public const string DefaultUrls = "http://127.0.0.1:8081";

    public static WebApplication Build(IConfiguration configuration, Action<IServiceCollection>? configureServices = null)
    {
        var publicUrls = configuration["Api:Urls"] is { Length: > 0 } urls ? urls : DefaultUrls;
        var builder = RoleDefaults.CreateBuilder(configuration, PayrailRole.Api, publicUrls);
        builder.Services.AddPaymentService(configuration);
        builder.Services.AddApiDocument();
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        // Connect to Redis now (bounded by its connect timeout, never failing): not on the first payment's thread.
        app.Services.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UsePayrailManagement();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapApiDocument();
        app.MapPaymentsEndpoints();
        app.MapPaymentOperationsEndpoints();
        app.MapMerchantsEndpoints();
        app.MapWebhookEndpoints();
        app.MapConsumerReadEndpoints();
        app.MapRefundsEndpoints();
        app.MapThreeDSecureReturnPage();
        return app;
    }
}

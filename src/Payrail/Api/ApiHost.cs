using Microsoft.Extensions.Logging.Console;
using Payrail.Merchants;
using Payrail.Payments;

namespace Payrail.Api;

/// <summary>The payment service's composition root: `payrail api`, `payrail up` and tests build it here.</summary>
public static class ApiHost
{
    public const string DefaultUrls = "http://127.0.0.1:8081";

    public static WebApplication Build(IConfiguration configuration, Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        // One configuration source for every role (PayrailConfiguration), not the web host's defaults.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(configuration);
        var publicUrls = configuration["Api:Urls"] is { Length: > 0 } urls ? urls : DefaultUrls;
        var management = ManagementListener.From(configuration, publicUrls);
        builder.WebHost.UseUrls($"{publicUrls};{management.Urls}");
        builder.Services.AddSingleton(management);
        builder.Logging.ClearProviders();
        builder.Services.AddLogging(logging =>
        {
            logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
            });
            // Per-request lines of the PSP client and its retry pipeline would double the log volume of every payment.
            logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
            logging.AddFilter("Polly", LogLevel.Warning);
            // Every line carries the trace id of the request it belongs to.
            logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        });
        builder.Services.AddPaymentService(configuration);
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        // Connect to Redis now (bounded by its connect timeout, never failing): not on the first payment's thread.
        app.Services.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // Matched by the port the request arrived on: on the public listener /metrics falls through to a 404.
        app.UseOpenTelemetryPrometheusScrapingEndpoint(http => management.Serves(http) && http.Request.Path == "/metrics");
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHealthEndpoints();
        app.MapPaymentsEndpoints();
        app.MapMerchantsEndpoints();
        return app;
    }
}

using PspSim.Api;
using PspSim.Clock;
using PspSim.Faults;
using PspSim.Storage;
using PspSim.Webhooks;

namespace PspSim;

/// <summary>Composes pspsim: a stateful, Stripe-compatible PSP sandbox with fault injection.</summary>
public static class PspSimApp
{
    public const string DefaultUrl = "http://127.0.0.1:8090";

    /// <summary>Builds the host from command-line style args (--urls, --data-dir, --PspSim:FeePercentBps=...).</summary>
    public static WebApplication Build(string[] args)
    {
        // Content root: the app's own folder. The default, the working directory, is the project (run by `up`), and the
        // configuration's file watcher then took an inotify event for every write under it (PostgreSQL's, pspsim's own
        // journal and report files): 3 % of all CPU samples during `bench reconcile`, on pspsim's watcher thread (perf).
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (string.IsNullOrEmpty(builder.Configuration["urls"])) builder.WebHost.UseUrls(DefaultUrl);
        var options = builder.Configuration.GetSection("PspSim").Get<PspSimOptions>() ?? new PspSimOptions();
        if (options.Problems().ToList() is { Count: > 0 } problems)
            throw new InvalidOperationException("invalid pspsim configuration: " + string.Join("; ", problems));
        options.DataDir = ResolveDataDir(builder.Configuration["data-dir"] ?? builder.Configuration["PspSim:DataDir"]);
        // Our own line per request (Debug) replaces ASP.NET Core's per-request Information logs.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = Math.Max(options.MaxBodyBytes, 64 * 1024));

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(new SimClock(TimeProvider.System));
        builder.Services.AddSingleton<TimeProvider>(sp => sp.GetRequiredService<SimClock>());
        builder.Services.AddHostedService<DueChangesService>();
        builder.Services.AddSingleton(sp => new SimStore(options.DataDir, sp.GetRequiredService<TimeProvider>(), options));
        builder.Services.AddSingleton<FaultBoard>();
        builder.Services.AddSingleton<RequestRateLimit>();
        builder.Services.AddSingleton<StripeApi>();
        builder.Services.AddSingleton<DeliveryFaultBoard>();
        builder.Services.AddSingleton<WebhookDelivery>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookDelivery>());

        var app = builder.Build();
        // Open (and replay) the journal at start, not on the first request.
        app.Services.GetRequiredService<SimStore>();
        // Attached to the store before the first request, so no committed event misses its webhooks.
        app.Services.GetRequiredService<WebhookDelivery>();
        app.MapGet("/healthz", () => Results.Ok(new { status = "ok" }));
        ControlPlane.Map(app);
        app.Map("/v1/{**rest}", (HttpContext ctx, StripeApi api) => api.HandleAsync(ctx));
        return app;
    }

    private static string ResolveDataDir(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured)) return Path.GetFullPath(configured);
        var root = Environment.GetEnvironmentVariable("PAYRAIL_ROOT");
        return Path.Combine(string.IsNullOrEmpty(root) ? Directory.GetCurrentDirectory() : root, ".payrail", "pspsim");
    }
}

using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.DataProtection;
using Payrail.Auth;
using Payrail.DevEnvironment;
using Payrail.Hosting;

namespace Payrail.Dashboard;

/// <summary>
/// `payrail dashboard`'s composition root: server-rendered pages, the live stream and the actions, for merchants
/// (and an ops view), on <c>Dashboard:Urls</c> (8082). `payrail dashboard`, `payrail up` and tests build it here.
/// </summary>
public static class DashboardHost
{
    /// <summary>What the pages allow the browser to load: this site only, no inline script, no framing.</summary>
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public static WebApplication Build(IConfiguration configuration, Action<IServiceCollection>? configureServices = null,
        DevSecrets? devSecrets = null)
    {
        var options = InvalidSettingsException.Bind<DashboardWebOptions>(configuration, DashboardWebOptions.SectionName);
        InvalidSettingsException.ThrowIfAny(options.Problems());
        var builder = RoleDefaults.CreateBuilder(configuration, PayrailRole.Dashboard, options.Urls);
        var services = builder.Services;
        var secrets = devSecrets ?? DevSecrets.ForProject();
        services.AddSingleton(options);
        services.AddPayrailJwt(AuthOptions.From(configuration, secrets));
        services.PostConfigure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, DashboardSession.ReadTokenFromCookie);
        services.AddSingleton(new DashboardSession(options, DashboardSession.DevKeyInUse(configuration)));
        services.AddDataProtection().SetApplicationName("payrail-dashboard").PersistKeysToFileSystem(new DirectoryInfo(
            options.KeysDirectory is { Length: > 0 } keys ? keys : Path.Combine(secrets.Directory, "dashboard-keys")));
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = DashboardAntiforgery.CookieName;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.FormFieldName = DashboardAntiforgery.FieldName;
        });
        services.AddSingleton<DashboardAntiforgery>();
        services.AddSingleton<StreamSignals>();
        services.AddHostedService(sp => sp.GetRequiredService<StreamSignals>());
        services.AddSingleton<StreamLogPrune>();
        services.AddHostedService(sp => sp.GetRequiredService<StreamLogPrune>());
        services.AddSingleton<DashboardStream>();
        services.AddSingleton<CsvExport>();
        // The ops view's parts, shown by their Order: a feature adds one here (OpsPage.cs).
        services.AddSingleton<IOpsSection, ConsumersOpsSection>();
        services.AddSingleton<IOpsSection, StuckPaymentsOpsSection>();
        services.AddSingleton<IOpsSection, ReconciliationOpsSection>();
        services.AddHttpClient<PaymentActionsClient>(http =>
        {
            http.BaseAddress = new Uri(options.ApiUrl.TrimEnd('/') + "/");
            http.Timeout = TimeSpan.FromMilliseconds(options.ApiTimeoutMs);
        });
        configureServices?.Invoke(services);

        var app = builder.Build();
        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = ErrorPageAsync });
        app.Use(SecurityHeaders);
        app.UsePayrailManagement();
        app.UseAuthentication();
        app.MapDashboardAssets();
        app.MapSignInEndpoints();
        app.MapPaymentsPage();
        app.MapGet("/payments/export.csv", (HttpContext http, CsvExport export) => export.HandleAsync(http));
        app.MapPaymentPage();
        app.MapDayPage();
        app.MapOpsPage();
        app.MapGet("/stream", (HttpContext http, DashboardStream stream) => stream.HandleAsync(http));
        return app;
    }

    private static Task SecurityHeaders(HttpContext http, Func<Task> next)
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        // What the anti-forgery code requires of a page carrying a token (it would rewrite them and log a warning each time).
        if (!http.Request.Path.StartsWithSegments("/assets"))
        {
            headers.CacheControl = "no-cache, no-store";
            headers.Pragma = "no-cache";
        }
        return next();
    }

    /// <summary>A failure is a plain page, never a stack trace (the exception is in the server log).</summary>
    private static async Task ErrorPageAsync(HttpContext http)
    {
        http.Response.StatusCode = StatusCodes.Status500InternalServerError;
        http.Response.ContentType = Html.ContentType;
        await http.Response.WriteAsync("<!doctype html><title>Error · Payrail</title><h1>Something went wrong</h1>" +
            "<p>Nothing was lost; try again. <a href=\"/payments\">Payments</a></p>");
    }
}

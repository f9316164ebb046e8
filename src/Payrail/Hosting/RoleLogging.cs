using Microsoft.Extensions.Logging.Console;

namespace Payrail.Hosting;

/// <summary>
/// Console logs of every role (<c>Logging:Format</c>): <c>text</c> is one readable line per event for a person at a
/// terminal (coloured when stdout is a TTY); <c>json</c> is one JSON object per line for a log collector; <c>auto</c>
/// (the default) picks text on a TTY and JSON when stdout is redirected to a file or a pipe.
/// </summary>
public static class RoleLogging
{
    public const string FormatSetting = "Logging:Format";

    public static IEnumerable<string> Problems(IConfiguration configuration)
    {
        if (configuration[FormatSetting] is { Length: > 0 } format && format is not ("auto" or "text" or "json"))
            yield return $"{FormatSetting} must be auto, text or json";
    }

    /// <summary>True for JSON lines: asked for, or <c>auto</c> with stdout not a terminal.</summary>
    public static bool WritesJson(IConfiguration configuration) => configuration[FormatSetting] switch
    {
        "json" => true,
        "text" => false,
        _ => Console.IsOutputRedirected,
    };

    public static void Configure(ILoggingBuilder logging, IConfiguration configuration)
    {
        logging.ClearProviders();
        if (WritesJson(configuration))
        {
            logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
            });
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.IncludeScopes = false;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
                // Colour only where a person reads it: escape codes in a file or a pipe are noise.
                o.ColorBehavior = Console.IsOutputRedirected ? LoggerColorBehavior.Disabled : LoggerColorBehavior.Enabled;
            });
        }
        // Per-request lines of the PSP client and its retry pipeline would double the log volume of every payment.
        logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        logging.AddFilter("Polly", LogLevel.Warning);
        // Every line carries the trace id of the request it belongs to.
        logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
    }
}

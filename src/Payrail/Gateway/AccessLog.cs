using System.Diagnostics;
using Payrail.Auth;
using Yarp.ReverseProxy.Model;

namespace Payrail.Gateway;

/// <summary>
/// One line per request (category <c>Payrail.Gateway.Access</c>): method, path, status, milliseconds, the caller
/// (role:subject from a validated token, else "-"), the instance that answered and the trace id. Never a body, a
/// query string (cursors and ids a client chose) or a header: the bearer token stays out of every log.
/// </summary>
public sealed class AccessLog(RequestDelegate next, ILoggerFactory loggers)
{
    private readonly ILogger _log = loggers.CreateLogger("Payrail.Gateway.Access");

    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            if (_log.IsEnabled(LogLevel.Information))
            {
                var caller = Caller.TryFrom(context.User) is { } c ? c.ScopeOwner : "-";
                var upstream = context.Features.Get<IReverseProxyFeature>()?.ProxiedDestination?.DestinationId ?? "-";
                _log.LogInformation("{Method} {Path} {Status} {ElapsedMs:0.0} ms caller={Caller} upstream={Upstream} trace={TraceId}",
                    context.Request.Method, context.Request.Path.Value, context.Response.StatusCode,
                    Stopwatch.GetElapsedTime(started).TotalMilliseconds, caller, upstream, Activity.Current?.TraceId.ToString() ?? "-");
            }
        }
    }
}

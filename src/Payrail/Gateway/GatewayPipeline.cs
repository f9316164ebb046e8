using System.Globalization;
using Payrail.Api;
using Payrail.Auth;
using Payrail.Hosting;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Payrail.Gateway;

/// <summary>
/// The steps of a forwarded request, cheapest refusal first: the listener, then the caller's rate limit (one Redis
/// script), then the body (read whole, at most <see cref="GatewayOptions.MaxBodyBytes"/>, so a retry on another
/// instance can send it again), then load balancing and <see cref="UpstreamFailover"/>. Authentication ran before
/// these (the route's policy): an invalid token never reaches this far, let alone the API.
/// </summary>
public static class GatewayPipeline
{
    /// <summary>The management listener serves metrics and health, never traffic.</summary>
    public static async Task PublicListenerOnly(HttpContext context, Func<Task> next)
    {
        if (context.RequestServices.GetRequiredService<ManagementListener>().Serves(context))
        {
            await Problems.WriteAsync(context, Problems.NotFound, "Not found", StatusCodes.Status404NotFound, "No such resource.");
            return;
        }
        EdgeHeaders.Strip(context.Request.Headers);
        await next();
    }

    /// <summary>
    /// The caller's bucket (role and subject from the token). Answers carry the IETF draft's <c>RateLimit-Policy</c>
    /// (quota = burst over the seconds it takes to refill) and <c>RateLimit</c> (remaining, seconds until full);
    /// a refusal is 429 with <c>Retry-After</c> (whole seconds until one request's worth has refilled, at least 1).
    /// Webhooks carry no caller and are not limited here.
    /// </summary>
    public static async Task RateLimit(HttpContext context, Func<Task> next)
    {
        if (Caller.TryFrom(context.User) is not { } caller)
        {
            await next();
            return;
        }
        var limiter = context.RequestServices.GetRequiredService<CallerRateLimiter>();
        var rate = context.RequestServices.GetRequiredService<GatewayOptions>().RateLimit.For(caller.Role);
        var decision = await limiter.TakeAsync(caller, context.RequestAborted);
        var headers = context.Response.Headers;
        var windowSeconds = CeilSeconds(TokenBucket.TimeToFullMs(rate.RequestsPerSecond, rate.BurstRequests));
        headers["RateLimit-Policy"] = string.Create(CultureInfo.InvariantCulture, $"\"{caller.Role}\";q={rate.BurstRequests};w={windowSeconds}");
        headers["RateLimit"] = string.Create(CultureInfo.InvariantCulture,
            $"\"{caller.Role}\";r={decision.RemainingRequests};t={CeilSeconds(decision.FullInMs)}");
        if (decision.Allowed)
        {
            await next();
            return;
        }
        headers.RetryAfter = Math.Max(1, CeilSeconds(decision.RetryAfterMs)).ToString(CultureInfo.InvariantCulture);
        await Problems.WriteAsync(context, Problems.RateLimited, "Too many requests", StatusCodes.Status429TooManyRequests,
            "This caller's request rate is over its limit. Retry after the number of seconds in Retry-After.");
    }

    /// <summary>A declared length over the limit is refused before the token is even checked: the cheapest refusal.</summary>
    public static async Task DeclaredBodySize(HttpContext context, RequestDelegate next)
    {
        var max = context.RequestServices.GetRequiredService<GatewayOptions>().MaxBodyBytes;
        if (context.Request.ContentLength > max)
        {
            await BodyTooLarge(context, max);
            return;
        }
        await next(context);
    }

    /// <summary>
    /// Reads the body whole into memory (at most MaxBodyBytes; a chunked body past it is 413 too), so nothing of an
    /// oversized request reaches the API and a body can be sent again to another instance after a refused connect.
    /// </summary>
    public static async Task BufferedBody(HttpContext context, Func<Task> next)
    {
        var request = context.Request;
        var max = context.RequestServices.GetRequiredService<GatewayOptions>().MaxBodyBytes;
        if (request.ContentLength is 0 || (request.ContentLength is null && !request.Headers.TransferEncoding.Any()))
        {
            await next();
            return;
        }
        request.EnableBuffering(bufferThreshold: max, bufferLimit: max);
        try
        {
            await request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
        }
        catch (Exception e) when (e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } or IOException)
        {
            // IOException: the buffer limit of a chunked body; Kestrel's MaxRequestBodySize answers the same.
            await BodyTooLarge(context, max);
            return;
        }
        request.Body.Position = 0;
        await next();
    }

    private static Task BodyTooLarge(HttpContext context, int max) =>
        Problems.WriteAsync(context, Problems.BodyTooLarge, "Request body too large", StatusCodes.Status413PayloadTooLarge,
            $"The request body must be at most {max} bytes.");

    private static long CeilSeconds(long ms) => (ms + 999) / 1000;
}

/// <summary>
/// Failover and the gateway's own errors. A connection that was refused (or whose connect timed out) sent nothing, so
/// the same request goes to the next instance, any method, at most once per instance. Once bytes may have reached an
/// instance the outcome is unknown and the request is not replayed here: the client's retry with its Idempotency-Key
/// is what makes that safe (502). No instance reachable → 503 problem with Retry-After, at once; no answer within the
/// request timeout → 504. Runs before the passive health check, which sees every attempt.
/// </summary>
public static class UpstreamFailover
{
    public static async Task Forward(HttpContext context, Func<Task> next)
    {
        var proxy = context.GetReverseProxyFeature();
        var tried = new HashSet<DestinationState>();
        var maxAttempts = Math.Max(1, proxy.AllDestinations.Count);
        for (var attempt = 1; ; attempt++)
        {
            await next();
            var error = context.Features.Get<IForwarderErrorFeature>();
            if (error is null || context.Response.HasStarted) return;
            if (!NothingWasSent(error, context) || attempt >= maxAttempts) break;
            if (proxy.ProxiedDestination is { } failed) tried.Add(failed);
            if (NextDestination(proxy, tried) is not { } nextDestination) break;
            proxy.AvailableDestinations = [nextDestination];
            context.Features.Set<IForwarderErrorFeature>(null);
            context.Response.StatusCode = StatusCodes.Status200OK;
            if (context.Request.Body.CanSeek) context.Request.Body.Position = 0;
        }
        await WriteErrorAsync(context, context.Features.Get<IForwarderErrorFeature>()!);
    }

    /// <summary>Healthy untried instances first, then any untried one (its health may be stale).</summary>
    private static DestinationState? NextDestination(IReverseProxyFeature proxy, HashSet<DestinationState> tried)
    {
        var untried = proxy.AllDestinations.Where(d => !tried.Contains(d)).ToList();
        return untried.FirstOrDefault(d => d.Health.Active != DestinationHealth.Unhealthy && d.Health.Passive != DestinationHealth.Unhealthy)
            ?? untried.FirstOrDefault();
    }

    private static bool NothingWasSent(IForwarderErrorFeature error, HttpContext context) =>
        error.Error == ForwarderError.NoAvailableDestinations
        || (error.Error == ForwarderError.Request && !context.RequestAborted.IsCancellationRequested && error.Exception switch
        {
            HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } => true,
            // SocketsHttpHandler's ConnectTimeout: a cancellation wrapping a TimeoutException, before any byte was sent.
            OperationCanceledException { InnerException: TimeoutException } => true,
            _ => false,
        });

    private static Task WriteErrorAsync(HttpContext context, IForwarderErrorFeature error)
    {
        var options = context.RequestServices.GetRequiredService<GatewayOptions>();
        if (context.RequestAborted.IsCancellationRequested) return Task.CompletedTask;
        if (NothingWasSent(error, context))
        {
            context.Response.Headers.RetryAfter = options.UnavailableRetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return Problems.WriteAsync(context, Problems.ServiceUnavailable, "Service unavailable", StatusCodes.Status503ServiceUnavailable,
                "No payment-service instance could be reached; nothing was sent. Retry after the number of seconds in Retry-After.");
        }
        return error.Error == ForwarderError.RequestTimedOut
            ? Problems.WriteAsync(context, Problems.UpstreamTimeout, "Gateway timeout", StatusCodes.Status504GatewayTimeout,
                "The payment service did not answer in time. Retrying with the same Idempotency-Key is safe.")
            : Problems.WriteAsync(context, Problems.UpstreamFailed, "Bad gateway", StatusCodes.Status502BadGateway,
                "The payment service's answer was lost. Retrying with the same Idempotency-Key is safe.");
    }
}

using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;
using PspSim.BalanceTransactions;
using PspSim.Events;
using PspSim.Faults;
using PspSim.Idempotency;
using PspSim.PaymentIntents;
using PspSim.Refunds;
using PspSim.Storage;
using PspSim.Stripe;
using PspSim.Webhooks;

namespace PspSim.Api;

/// <summary>
/// The /v1 pipeline: API key → form parsing → idempotency claim → latency → faults → endpoint → answer
/// (faults that act on the answer: after the endpoint).
/// </summary>
public sealed class StripeApi(
    SimStore store, FaultBoard faults, PspSimOptions options, RequestRateLimit rateLimit, IHostApplicationLifetime lifetime, ILogger<StripeApi> log)
{
    public async Task HandleAsync(HttpContext ctx)
    {
        var started = Stopwatch.GetTimestamp();
        var method = ctx.Request.Method;
        var path = ctx.Request.Path.Value ?? "/";
        var requestId = Ids.New("req", 14);
        ctx.Response.Headers["Request-Id"] = requestId;
        ctx.Response.Headers["Stripe-Version"] = ctx.Request.Headers["Stripe-Version"].Count > 0
            ? ctx.Request.Headers["Stripe-Version"].ToString() : StripeJson.ApiVersion;
        var status = 0;
        try
        {
            status = await ServeAsync(ctx, method, path, requestId);
        }
        finally
        {
            // One line per request; never the API key or the body.
            if (log.IsEnabled(LogLevel.Debug))
                log.LogDebug("{Method} {Path} → {Status} in {ElapsedMs:0.0} ms ({RequestId})", method, path, status == 0 ? "aborted" : status,
                    Stopwatch.GetElapsedTime(started).TotalMilliseconds, requestId);
        }
    }

    private async Task<int> ServeAsync(HttpContext ctx, string method, string path, string requestId)
    {
        var scope = Authenticate(ctx.Request.Headers.Authorization);
        if (scope is null)
        {
            var missing = ctx.Request.Headers.Authorization.Count == 0;
            return await WriteAsync(ctx, ApiResult.Error(new StripeApiException(401, "invalid_request_error", missing ? null : "api_key_invalid",
                missing ? "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
                        : "Invalid API Key provided.")));
        }

        // Before anything else runs, as Stripe's limiter: a refused request never claims its idempotency key.
        if (!rateLimit.TryAdmit()) return await TooManyRequestsAsync(ctx, RateLimited(), "global-rate");

        FormParams form;
        try { form = await ReadParamsAsync(ctx); }
        catch (StripeApiException e) { return await WriteAsync(ctx, ApiResult.Error(e)); }

        var idempotencyKey = method == "POST" ? ctx.Request.Headers["Idempotency-Key"].ToString() : "";
        if (idempotencyKey.Length > IdempotencyKeys.MaxKeyLength)
            return await WriteAsync(ctx, ApiResult.Error(StripeApiException.Invalid($"Idempotency-Key must be at most {IdempotencyKeys.MaxKeyLength} characters.")));
        if (idempotencyKey.Length > 0) ctx.Response.Headers["Idempotency-Key"] = idempotencyKey;

        var request = new ApiRequest
        {
            Method = method,
            Segments = path["/v1/".Length..].Split('/', StringSplitOptions.RemoveEmptyEntries),
            Params = form,
            Info = new RequestInfo(requestId, idempotencyKey.Length > 0 ? idempotencyKey : null),
            Store = store,
            Options = options,
            BaseUrl = $"{ctx.Request.Scheme}://{ctx.Request.Host}",
        };

        if (method == "GET" && request.Segments is ["files", var fileId, "contents"]) return await ServeFileAsync(ctx, method, path, fileId);

        // The key is claimed before the latency and the faults, as at Stripe: a slow request holds its key, so a
        // concurrent one with the same key gets 409 idempotency_key_in_use instead of queueing behind it.
        var fingerprint = idempotencyKey.Length == 0 ? "" : FormParams.Fingerprint(method, path, form);
        var claim = idempotencyKey.Length == 0 ? null : store.IdempotencyKeys.Claim(scope, idempotencyKey, fingerprint);
        var held = claim is Claim.Acquired;
        ApiResult? result = null;
        void Release()
        {
            if (!held) return;
            held = false;
            store.IdempotencyKeys.Release(scope, idempotencyKey);
        }
        try
        {
            var delay = faults.NextDelay();
            if (delay > TimeSpan.Zero) await Task.Delay(delay, ctx.RequestAborted);

            var fault = faults.Match(method, path);
            if (fault is not null)
            {
                log.LogInformation("fault {FaultId} {Mode} injected on {Method} {Path}", fault.Id, fault.Mode, method, path);
                // Faults before the request runs leave nothing behind: its key is free again.
                if (FailsBeforeRun(fault.Mode)) Release();
                if (await FailBeforeRunAsync(ctx, fault) is { } failed) return failed;
            }

            if (claim is Claim.Replay replay)
            {
                ctx.Response.Headers["Idempotent-Replayed"] = "true";
                return await AnswerAsync(ctx, replay.Response.Status, replay.Response.Body, fault);
            }
            result = fault?.Mode == FaultModes.Http500RolledBack && claim is not (Claim.Mismatch or Claim.InFlight)
                ? ServerErrorAfterExecution()
                : RunUnder(claim, request, idempotencyKey);
            // Stripe fails after its endpoint started: what ran stays done, the 500 is the answer.
            if (fault?.Mode == FaultModes.Http500AfterExecution && result.Executed) result = ServerErrorAfterExecution();
            // Stripe saves the first answer of an endpoint that began executing, 5xx included, and replays it for
            // 24 h; validation failures and a key in use by a concurrent request (Executed = false) are not saved.
            if (held && result.Executed)
            {
                store.IdempotencyKeys.Complete(new StoredResponse
                {
                    Scope = scope, Key = idempotencyKey, Fingerprint = fingerprint, Status = result.Status,
                    Body = result.Json, Created = store.Now(), RequestId = requestId,
                });
                held = false;
            }
            return fault is null ? await WriteAsync(ctx, result) : await AnswerAsync(ctx, result.Status, result.Json, fault);
        }
        finally
        {
            Release();
            result?.Release();
        }
    }

    /// <summary>The request's answer under its idempotency claim (none, ours, another's in flight, other parameters).</summary>
    private static ApiResult RunUnder(Claim? claim, ApiRequest request, string idempotencyKey) => claim switch
    {
        Claim.Mismatch => ApiResult.Error(new StripeApiException(400, "idempotency_error", null,
            $"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{idempotencyKey}' if you meant to execute a different request.")),
        Claim.InFlight => ApiResult.Error(new StripeApiException(409, "idempotency_error", "idempotency_key_in_use",
            "There is currently another in-progress request using this Stripe API Key and idempotency key. Please try again later.")),
        _ => Run(request),
    };

    /// <summary>
    /// The 500 of http_500_after_execution and http_500_rolled_back: Stripe's api_error body, marked executed so it is
    /// saved under the key.
    /// </summary>
    private static ApiResult ServerErrorAfterExecution() => ApiResult.Error(new StripeApiException(500, "api_error", null,
        "An unknown error occurred while processing your request (injected by pspsim after the request ran).") { Executed = true });

    private static bool FailsBeforeRun(string mode) =>
        mode is FaultModes.Http500 or FaultModes.ConnectionReset or FaultModes.Timeout or FaultModes.LockTimeout or FaultModes.RateLimit;

    /// <summary>The faults that act before the request runs: the status written (0 when aborted), or null to run it.</summary>
    private async Task<int?> FailBeforeRunAsync(HttpContext ctx, Fault fault)
    {
        switch (fault.Mode)
        {
            case FaultModes.Http500:
                return await WriteAsync(ctx, ApiResult.Error(new StripeApiException(500, "api_error", null,
                    "An unknown error occurred while processing your request (injected by pspsim).")));
            case FaultModes.LockTimeout:
                return await TooManyRequestsAsync(ctx, new StripeApiException(429, "invalid_request_error", "lock_timeout",
                    "This object cannot be accessed right now because another API request or Stripe process is currently accessing it. If you see this error intermittently, retry the request. If you see this error frequently and are making multiple concurrent requests to a single object, make your requests serially or at a lower rate."),
                    rateLimitedReason: null);
            case FaultModes.RateLimit:
                return await TooManyRequestsAsync(ctx, RateLimited(), "global-rate");
            case FaultModes.ConnectionReset:
                ctx.Abort();
                return 0;
            case FaultModes.Timeout:
                await HangAsync(TimeSpan.FromSeconds(options.TimeoutFaultSeconds), ctx.RequestAborted);
                ctx.Abort();
                return 0;
            case FaultModes.HoldKey:
                // Stripe finishes a request its client has left: the key stays held for the whole duration.
                await HangAsync(TimeSpan.FromMilliseconds(fault.DurationMs ?? 0), CancellationToken.None);
                return null;
            default:
                return null;
        }
    }

    private static StripeApiException RateLimited() => new(429, "invalid_request_error", "rate_limit",
        "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.");

    /// <summary>
    /// A 429 as Stripe sends it (its error body; Stripe-Rate-Limited-Reason on a rate-limiter refusal), plus
    /// Retry-After (whole seconds, PspSim:RetryAfterSeconds), which Stripe does not document: it tells a client how long
    /// to wait, so a client's honouring of it can be tested.
    /// </summary>
    private async Task<int> TooManyRequestsAsync(HttpContext ctx, StripeApiException error, string? rateLimitedReason)
    {
        ctx.Response.Headers.RetryAfter = options.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (rateLimitedReason is not null) ctx.Response.Headers["Stripe-Rate-Limited-Reason"] = rateLimitedReason;
        return await WriteAsync(ctx, ApiResult.Error(error));
    }

    private async Task HangAsync(TimeSpan duration, CancellationToken clientGone)
    {
        using var hang = CancellationTokenSource.CreateLinkedTokenSource(clientGone, lifetime.ApplicationStopping);
        try { await Task.Delay(duration, hang.Token); }
        catch (OperationCanceledException) { }
    }

    /// <summary>Writes the answer, or what the faults that act after the request ran make of it.</summary>
    private static async Task<int> AnswerAsync(HttpContext ctx, int status, string body, Fault? fault)
    {
        switch (fault?.Mode)
        {
            case FaultModes.ResponseLost:
                ctx.Abort();
                return 0;
            case FaultModes.Proxy408:
                foreach (var header in new[] { "Request-Id", "Stripe-Version", "Idempotency-Key", "Idempotent-Replayed" })
                    ctx.Response.Headers.Remove(header);
                ctx.Response.StatusCode = 408;
                ctx.Response.ContentType = "text/html";
                await ctx.Response.WriteAsync("<html><body><h1>408 Request Time-out</h1>Your browser didn't send a complete request in time.</body></html>", ctx.RequestAborted);
                return 408;
            case FaultModes.TruncatedBody:
                body = body[..(body.Length / 2)];
                break;
            case { } mode when AnswerTampering.IsTampering(mode):
                body = AnswerTampering.Apply(mode, status, body);
                break;
        }
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(body, ctx.RequestAborted);
        return status;
    }

    /// <summary>
    /// A report file's contents (Stripe serves them from its files host, with the same API key), streamed from disk: a
    /// report of a million lines is not held in memory. The faults that fail a request apply; truncated_body sends the
    /// whole lines of its first half under a matching Content-Length, so only the file object's size tells the client it
    /// is short.
    /// </summary>
    private async Task<int> ServeFileAsync(HttpContext ctx, string method, string path, string fileId)
    {
        var delay = faults.NextDelay();
        if (delay > TimeSpan.Zero) await Task.Delay(delay, ctx.RequestAborted);
        var fault = faults.Match(method, path);
        if (fault is not null)
        {
            log.LogInformation("fault {FaultId} {Mode} injected on {Method} {Path}", fault.Id, fault.Mode, method, path);
            if (await FailBeforeRunAsync(ctx, fault) is { } failed) return failed;
        }
        await using var file = store.ReportRuns.OpenFile(fileId);
        if (file is null) return await WriteAsync(ctx, ApiResult.Error(StripeApiException.NoSuch("file", fileId)));
        var length = fault?.Mode == FaultModes.TruncatedBody ? await WholeLinesWithinAsync(file, file.Length / 2, ctx.RequestAborted) : file.Length;
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/csv";
        ctx.Response.ContentLength = length;
        var buffer = new byte[64 * 1024];
        for (var left = length; left > 0;)
        {
            var n = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ctx.RequestAborted);
            if (n == 0) break;
            await ctx.Response.Body.WriteAsync(buffer.AsMemory(0, n), ctx.RequestAborted);
            left -= n;
        }
        return 200;
    }

    /// <summary>The length of the file's whole lines within its first <paramref name="limit"/> bytes (0 when none ends there).</summary>
    private static async Task<long> WholeLinesWithinAsync(FileStream file, long limit, CancellationToken cancellationToken)
    {
        var window = new byte[(int)Math.Min(limit, 64 * 1024)];
        file.Position = limit - window.Length;
        await file.ReadExactlyAsync(window, cancellationToken);
        file.Position = 0;
        return limit - window.Length + Array.LastIndexOf(window, (byte)'\n') + 1;
    }

    private static ApiResult Run(ApiRequest r)
    {
        try { return Route(r); }
        catch (StripeApiException e) { return ApiResult.Error(e); }
    }

    private static ApiResult Route(ApiRequest r) => (r.Method, r.Segments) switch
    {
        ("POST", ["payment_intents"]) => PaymentIntentEndpoints.Create(r),
        ("GET", ["payment_intents"]) => PaymentIntentEndpoints.List(r),
        ("GET", ["payment_intents", "search"]) => PaymentIntentSearch.Search(r),
        ("GET", ["payment_intents", var id]) => PaymentIntentEndpoints.Retrieve(r, id),
        ("POST", ["payment_intents", var id, "confirm"]) => PaymentIntentEndpoints.Confirm(r, id),
        ("POST", ["payment_intents", var id, "capture"]) => PaymentIntentEndpoints.Capture(r, id),
        ("POST", ["payment_intents", var id, "cancel"]) => PaymentIntentEndpoints.Cancel(r, id),
        ("GET", ["charges", var id]) => ChargeEndpoints.Retrieve(r, id),
        ("POST", ["refunds"]) => RefundEndpoints.Create(r),
        ("GET", ["refunds"]) => RefundEndpoints.List(r),
        ("GET", ["refunds", var id]) => RefundEndpoints.Retrieve(r, id),
        ("POST", ["refunds", var id]) => RefundEndpoints.Update(r, id),
        ("POST", ["refunds", var id, "cancel"]) => RefundEndpoints.Cancel(r, id),
        ("GET", ["events"]) => EventEndpoints.List(r),
        ("GET", ["events", var id]) => EventEndpoints.Retrieve(r, id),
        ("POST", ["webhook_endpoints"]) => WebhookEndpoints.Create(r),
        ("GET", ["webhook_endpoints"]) => WebhookEndpoints.List(r),
        ("GET", ["webhook_endpoints", var id]) => WebhookEndpoints.Retrieve(r, id),
        ("POST", ["webhook_endpoints", var id]) => WebhookEndpoints.Update(r, id),
        ("DELETE", ["webhook_endpoints", var id]) => WebhookEndpoints.Delete(r, id),
        ("POST", ["webhook_endpoints", var id, "roll_secret"]) => WebhookEndpoints.RollSecret(r, id),
        ("GET", ["balance_transactions"]) => BalanceTransactionEndpoints.List(r),
        ("GET", ["balance_transactions", var id]) => BalanceTransactionEndpoints.Retrieve(r, id),
        ("POST", ["reporting", "report_runs"]) => Reporting.ReportRunEndpoints.Create(r),
        ("GET", ["reporting", "report_runs", var id]) => Reporting.ReportRunEndpoints.Retrieve(r, id),
        ("GET", ["reporting", "report_types", var id]) => Reporting.ReportRunEndpoints.RetrieveType(r, id),
        ("GET", ["payouts"]) => Payouts.PayoutEndpoints.List(r),
        ("GET", ["payouts", var id]) => Payouts.PayoutEndpoints.Retrieve(r, id),
        _ => new ApiResult(404, new StripeApiException(404, "invalid_request_error", null,
            $"Unrecognized request URL ({r.Method}: {r.Path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.").Body()) { Executed = false },
    };

    /// <summary>The scope idempotency keys live in (a hash of the key), or null when the key is not accepted.</summary>
    private string? Authenticate(StringValues authorization)
    {
        var header = authorization.ToString();
        string? key = null;
        if (header.StartsWith("Bearer ", StringComparison.Ordinal)) key = header["Bearer ".Length..].Trim();
        else if (header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            try { key = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim())).Split(':')[0]; }
            catch (FormatException) { return null; }
        }
        if (key is null || !key.StartsWith("sk_test_", StringComparison.Ordinal) || key.Length > 255) return null;
        if (options.ApiKeys.Count > 0 && !options.ApiKeys.Contains(key)) return null;
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32];
    }

    private async Task<FormParams> ReadParamsAsync(HttpContext ctx)
    {
        var query = ctx.Request.QueryString.Value ?? "";
        if (ctx.Request.Method != "POST") return FormParams.Parse(query);
        if (ctx.Request.ContentLength > options.MaxBodyBytes) throw TooLarge();
        var buffer = new byte[Math.Min(options.MaxBodyBytes + 1, (int)(ctx.Request.ContentLength ?? options.MaxBodyBytes + 1))];
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await ctx.Request.Body.ReadAsync(buffer.AsMemory(total), ctx.RequestAborted);
            if (n == 0) break;
            total += n;
        }
        if (total > options.MaxBodyBytes || (total == buffer.Length && await ctx.Request.Body.ReadAsync(new byte[1], ctx.RequestAborted) > 0))
            throw TooLarge();
        var body = Encoding.UTF8.GetString(buffer, 0, total);
        // Stripe reads parameters from the query string on POST too.
        return FormParams.Parse(query.Length > 1 ? body.Length > 0 ? query.TrimStart('?') + "&" + body : query : body);

        StripeApiException TooLarge() => StripeApiException.Invalid($"Request body too large (at most {options.MaxBodyBytes} bytes).");
    }

    /// <summary>The answer's UTF-8 bytes as they are (no string in between), with their length.</summary>
    private static async Task<int> WriteAsync(HttpContext ctx, ApiResult result)
    {
        var body = result.Utf8;
        ctx.Response.StatusCode = result.Status;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = body.Length;
        await ctx.Response.Body.WriteAsync(body, ctx.RequestAborted);
        return result.Status;
    }
}

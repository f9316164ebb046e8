using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Payrail.Psp.Stripe;

/// <summary>
/// Stripe's "come back later": 429 (rate_limit, lock_timeout) and 409 lock_timeout. Stripe did not run the request,
/// so replaying it with the same Idempotency-Key cannot charge twice. It is retried a bounded number of times, each
/// after the PSP's Retry-After (the backoff when there is none), inside the caller's budget and the total deadline:
/// whichever ends first cancels the wait. A Retry-After longer than <see cref="StripeConnectorOptions.MaxRetryAfterMs"/>
/// is not waited for. The last 429 reaches the connector, which answers "outcome unknown" — never a decline.
/// </summary>
internal static class TryLaterRetry
{
    public static HttpRetryStrategyOptions Options(StripeConnectorOptions options) => new()
    {
        MaxRetryAttempts = options.MaxTryLaterRetries,
        BackoffType = DelayBackoffType.Exponential,
        UseJitter = true,
        Delay = TimeSpan.FromMilliseconds(options.RetryBaseDelayMs),
        MaxDelay = TimeSpan.FromMilliseconds(options.MaxRetryDelayMs),
        ShouldRetryAfterHeader = false, // RetryAfter below reads it, and bounds it
        ShouldHandle = args => ShouldRetryAsync(args.Outcome.Result, args.Context, options),
        DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } response ? RetryAfter(response) : null),
    };

    private static async ValueTask<bool> ShouldRetryAsync(HttpResponseMessage? response, ResilienceContext context, StripeConnectorOptions options)
    {
        if (response is null || !StripeConnectorServiceCollectionExtensions.IsSafeToReplay(context.GetRequestMessage())) return false;
        if (RetryAfter(response) is { } wait && wait > TimeSpan.FromMilliseconds(options.MaxRetryAfterMs)) return false;
        return await IsTryLaterAsync(response, context.CancellationToken);
    }

    /// <summary>The wait the PSP asked for (delta-seconds or an HTTP date), or null when it named none.</summary>
    internal static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta) return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        if (header?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }
        return null;
    }

    /// <summary>429 is always "later"; a 409 only when Stripe's error code says lock_timeout (a 409 key conflict is not).</summary>
    internal static async Task<bool> IsTryLaterAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.StatusCode == HttpStatusCode.TooManyRequests) return true;
        if (response.StatusCode != HttpStatusCode.Conflict) return false;
        // The body is already buffered (ResponseBufferingHandler) and bounded: reading it again costs nothing.
        try
        {
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            return json.RootElement.TryGetProperty("error", out var error)
                   && error.ValueKind == JsonValueKind.Object
                   && error.TryGetProperty("code", out var code)
                   && code.ValueKind == JsonValueKind.String
                   && code.GetString() == "lock_timeout";
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

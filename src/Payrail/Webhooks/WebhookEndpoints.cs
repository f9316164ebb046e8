using System.Buffers;
using System.Text;
using Payrail.Api;
using Payrail.Psp;

namespace Payrail.Webhooks;

/// <summary>
/// <c>POST /webhooks/psp/stripe</c>: no bearer token, the PSP's signature over the raw body is the authentication. The
/// body is read (at most <see cref="WebhookOptions.MaxBodyBytes"/>) before anything parses it, because the signature
/// covers the exact bytes sent.
/// </summary>
public static class WebhookEndpoints
{
    public const string StripeRoute = "/webhooks/psp/stripe";
    public const string SignatureHeader = "Stripe-Signature";

    public static IEndpointRouteBuilder MapWebhookEndpoints(this IEndpointRouteBuilder app)
    {
        // The PSP's endpoint, not the clients' API: left out of the OpenAPI document (no bearer, no Idempotency-Key).
        app.MapPost(StripeRoute, ReceiveAsync).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static async Task<IResult> ReceiveAsync(HttpContext http, PspWebhookReceiver receiver, WebhookMetrics metrics, IPspConnector psp)
    {
        var body = await ReadBodyAsync(http.Request, http.RequestAborted);
        if (body is null)
        {
            metrics.Refused(psp.Name, "too_large");
            return Problems.Result(Problems.BodyTooLarge, "Request body too large", StatusCodes.Status413PayloadTooLarge,
                $"A webhook body must be at most {WebhookOptions.MaxBodyBytes} bytes.");
        }
        // Several Stripe-Signature headers are not Stripe's format (it sends one, with several v1 inside): refused as missing.
        var signature = http.Request.Headers[SignatureHeader] is { Count: 1 } values ? values[0] : null;
        var result = await receiver.ReceiveAsync(body, signature, http.RequestAborted);
        return result.Status switch
        {
            StatusCodes.Status200OK => Results.Json(new { received = true, outcome = result.Outcome }),
            StatusCodes.Status503ServiceUnavailable => RetryLater(http),
            _ when result.Outcome == WebhookOutcome.Rejected => Problems.Result(Problems.WebhookMalformed, "Webhook is not an event",
                StatusCodes.Status400BadRequest, "The signature is valid but the body is not an event with an id and a type."),
            _ => Problems.Result(Problems.WebhookSignatureInvalid, "Webhook signature invalid", StatusCodes.Status400BadRequest,
                "The Stripe-Signature header is missing, malformed, outside the tolerance window or matches no configured secret."),
        };
    }

    private static IResult RetryLater(HttpContext http)
    {
        http.Response.Headers.RetryAfter = "10";
        return Problems.Result(Problems.WebhookRetryLater, "Webhook not applied yet", StatusCodes.Status503ServiceUnavailable,
            "The event's effect could not be decided now; nothing was recorded. Deliver it again later.");
    }

    /// <summary>The body as text, or null when it is longer than the bound (read at most one chunk past it).</summary>
    private static async Task<string?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > WebhookOptions.MaxBodyBytes) return null;
        var buffer = new ArrayBufferWriter<byte>(RequestBody.InitialCapacity(request.ContentLength));
        while (true)
        {
            var read = await request.Body.ReadAsync(RequestBody.NextChunk(buffer), cancellationToken);
            if (read == 0) break;
            buffer.Advance(read);
            if (buffer.WrittenCount > WebhookOptions.MaxBodyBytes) return null;
        }
        // Invalid UTF-8 decodes to U+FFFD and then fails the signature: what was signed were the exact bytes.
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

using Microsoft.AspNetCore.Mvc;

namespace Payrail.Api;

/// <summary>
/// RFC 9457 problem details with stable <c>type</c> URIs. Clients branch on the type, never on
/// the title or detail, so a type, once published, never changes meaning.
/// Details never echo request values: a refused field may hold a card number or a secret.
/// </summary>
public static class Problems
{
    private const string Base = "https://payrail.dev/problems/";

    public const string InvalidRequest = Base + "invalid-request";
    public const string InvalidJson = Base + "invalid-json";
    public const string InvalidAmount = Base + "invalid-amount";
    public const string UnknownCurrency = Base + "unknown-currency";
    /// <summary>A valid ISO 4217 currency that the PSP does not charge in.</summary>
    public const string CurrencyNotChargeable = Base + "currency-not-chargeable";
    /// <summary>A valid amount that the PSP cannot charge exactly (its unit cannot hold it, or below its minimum / above its maximum).</summary>
    public const string AmountNotChargeable = Base + "amount-not-chargeable";
    public const string InvalidMetadata = Base + "invalid-metadata";
    public const string CardNumberRefused = Base + "card-number-refused";
    public const string InvalidIdempotencyKey = Base + "invalid-idempotency-key";
    public const string IdempotencyKeyInUse = Base + "idempotency-key-in-use";
    public const string IdempotencyKeyReused = Base + "idempotency-key-reused";
    public const string UnknownMerchant = Base + "unknown-merchant";
    public const string MerchantExists = Base + "merchant-exists";
    public const string Unauthorized = Base + "unauthorized";
    public const string Forbidden = Base + "forbidden";
    public const string NotFound = Base + "not-found";
    public const string BodyTooLarge = Base + "body-too-large";
    public const string UnsupportedMediaType = Base + "unsupported-media-type";
    public const string Internal = Base + "internal";
    public const string MethodNotAllowed = Base + "method-not-allowed";
    public const string InvalidText = Base + "invalid-text";
    /// <summary>A PSP webhook whose signature is missing, malformed, outside the tolerance window or made with no configured secret (400).</summary>
    public const string WebhookSignatureInvalid = Base + "webhook-signature-invalid";
    /// <summary>A PSP webhook with a valid signature whose body is not an event (not JSON, no id or type) (400).</summary>
    public const string WebhookMalformed = Base + "webhook-malformed";
    /// <summary>A PSP webhook whose effect could not be decided now (the PSP did not answer the re-read in time); nothing recorded (503).</summary>
    public const string WebhookRetryLater = Base + "webhook-retry-later";
    /// <summary>The gateway's per-caller rate limit (429, with Retry-After).</summary>
    public const string RateLimited = Base + "rate-limited";
    /// <summary>The gateway reached no payment-service instance (503, with Retry-After): nothing was sent.</summary>
    public const string ServiceUnavailable = Base + "service-unavailable";
    /// <summary>The gateway lost the payment service's answer (502): the outcome is unknown, a retry with the same key is safe.</summary>
    public const string UpstreamFailed = Base + "upstream-failed";
    /// <summary>The payment service did not answer within the gateway's request timeout (504).</summary>
    public const string UpstreamTimeout = Base + "upstream-timeout";

    /// <summary>The payment's status does not allow this capture or void (e.g. void after capture); carries <c>payment_status</c> (409).</summary>
    public const string PaymentStateConflict = Base + "payment-state-conflict";
    /// <summary>A capture of more than the payment authorized; carries <c>payment_status</c> (409).</summary>
    public const string CaptureAboveAuthorized = Base + "capture-above-authorized";
    /// <summary>Another capture or void of this authorization is under way; carries <c>payment_status</c> (409).</summary>
    public const string PaymentOperationInProgress = Base + "payment-operation-in-progress";
    /// <summary>A capture the PSP refused because the authorization expired: the payment is voided; carries <c>payment_status</c> (409).</summary>
    public const string AuthorizationExpired = Base + "authorization-expired";
    /// <summary>The PSP did not answer a capture or void in time: retry with the same Idempotency-Key (503).</summary>
    public const string PspOutcomeUnknown = Base + "psp-outcome-unknown";
    /// <summary>A refund of a payment that holds no capture to refund (not captured, voided, failed, wholly refunded) (409, with its status).</summary>
    public const string PaymentNotRefundable = Base + "payment-not-refundable";
    /// <summary>A refund above what remains refundable: captured − refunded − what pending refunds hold (409).</summary>
    public const string RefundExceedsRefundable = Base + "refund-exceeds-refundable";
    /// <summary>
    /// A refund above the merchant's payable balance in its currency (captures − refunds − fees, less what pending refunds
    /// hold) when that balance may not go negative (409).
    /// </summary>
    public const string RefundExceedsPayableBalance = Base + "refund-exceeds-payable-balance";

    public const string ContentType = "application/problem+json";

    public static IResult Result(string type, string title, int status, string? detail = null,
        IReadOnlyDictionary<string, string[]>? errors = null)
    {
        var problem = new ProblemDetails { Type = type, Title = title, Status = status, Detail = detail };
        if (errors is { Count: > 0 }) problem.Extensions["errors"] = errors;
        return Results.Problem(problem);
    }

    /// <summary>
    /// A problem as the JSON text an idempotent answer stores and replays byte for byte, <c>type</c> first (what
    /// <see cref="IsProblemJson"/> recognises), then title, status, detail and the string members given, in order.
    /// </summary>
    public static string Json(string type, string title, int status, string detail, params (string Name, string Value)[] members)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", type);
            json.WriteString("title", title);
            json.WriteNumber("status", status);
            json.WriteString("detail", detail);
            foreach (var (name, value) in members) json.WriteString(name, value);
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>A stored answer written by <see cref="Json"/>: it is served as <see cref="ContentType"/>.</summary>
    public static bool IsProblemJson(string body) => body.StartsWith("{\"type\":\"" + Base, StringComparison.Ordinal);

    public static IResult NotFoundResult(string what) =>
        Result(NotFound, "Not found", StatusCodes.Status404NotFound, $"No such {what}.");

    public static IResult ForbiddenResult(string detail) =>
        Result(Forbidden, "Forbidden", StatusCodes.Status403Forbidden, detail);

    /// <summary>
    /// Problems the framework writes (unknown route, wrong method, an unhandled exception) get Payrail types
    /// too, so every error a client sees has a type under https://payrail.dev/problems/.
    /// </summary>
    public static void UseOwnTypes(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Type is not null && problem.Type.StartsWith(Base, StringComparison.Ordinal)) return;
        (problem.Type, problem.Detail) = problem.Status switch
        {
            StatusCodes.Status404NotFound => (NotFound, problem.Detail ?? "No such resource."),
            StatusCodes.Status405MethodNotAllowed => (MethodNotAllowed, problem.Detail ?? "This resource does not support this method."),
            // Never the exception's message: it may hold SQL, a connection string or other internals.
            >= 500 => (Internal, "Something went wrong on our side. Retrying with the same Idempotency-Key is safe."),
            _ => (problem.Type ?? InvalidRequest, problem.Detail),
        };
    }

    /// <summary>Writes a problem outside the endpoint pipeline (authentication challenges).</summary>
    public static Task WriteAsync(HttpContext context, string type, string title, int status, string detail)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = ContentType;
        return context.Response.WriteAsJsonAsync(
            new ProblemDetails { Type = type, Title = title, Status = status, Detail = detail },
            (System.Text.Json.JsonSerializerOptions?)null, ContentType);
    }
}

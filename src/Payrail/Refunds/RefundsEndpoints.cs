using System.Buffers;
using System.Text;
using System.Text.Json;
using Payrail.Api;
using Payrail.Auth;
using Payrail.Idempotency;
using Payrail.Payments;
using Payrail.Psp;

namespace Payrail.Refunds;

/// <summary>
/// <c>POST /v1/payments/{id}/refunds</c>, <c>GET /v1/payments/{id}/refunds</c>, <c>GET /v1/refunds/{id}</c>: for the merchant
/// of the payment or ops (a buyer token is 403, another merchant's payment or refund is 404).
/// </summary>
public static class RefundsEndpoints
{
    public static IEndpointRouteBuilder MapRefundsEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/payments/{id}/refunds", CreateAsync).RequireAuthorization(PaymentAccess.MerchantOrOps);
        app.MapGet("/v1/payments/{id}/refunds", ListAsync).RequireAuthorization(PaymentAccess.MerchantOrOps);
        app.MapGet("/v1/refunds/{id}", GetAsync).RequireAuthorization(PaymentAccess.MerchantOrOps);
        return app;
    }

    /// <summary>Refusals come first and write nothing: key, body, payment (404), state and amount (409), PSP unit (400).</summary>
    private static async Task<IResult> CreateAsync(HttpContext http, string id, PaymentStore payments, RefundCreation refunds, IPspConnector psp,
        IdempotencyStore keys)
    {
        var caller = Caller.From(http.User);
        if (!Guid.TryParse(id, out var paymentId)) return Problems.NotFoundResult("payment");
        if (IdempotencyGate.TryReadKey(http, caller, RefundCreation.Route, out var key) is { } keyRefusal) return keyRefusal;
        var (body, refusal) = await RequestBody.ReadJsonAsync(http);
        if (refusal is not null) return refusal;
        var (request, bad) = RefundRequestParser.Parse(body, paymentId);
        if (bad is not null) return bad;

        var payment = await payments.FindAsync(paymentId);
        if (payment is null || !PaymentAccess.MerchantOrOpsSees(caller, payment.MerchantId)) return Problems.NotFoundResult("payment");
        if (request!.Currency is { } currency && !string.Equals(currency, payment.CurrencyCode, StringComparison.OrdinalIgnoreCase))
            return Problems.Result(Problems.InvalidRequest, "Invalid request", StatusCodes.Status400BadRequest, "One field is invalid.",
                new Dictionary<string, string[]> { ["currency"] = ["must be the payment's currency"] });
        if (request.AmountMinor is { } amount && psp.CheckAmount(amount, payment.CurrencyCode) == PspAmountCheck.NotRepresentable)
            return Problems.Result(Problems.AmountNotChargeable, "Amount not chargeable", StatusCodes.Status400BadRequest, "One field is invalid.",
                new Dictionary<string, string[]> { ["amount"] = ["cannot be refunded exactly in this currency by our payment provider"] });
        // A retry of a request already under way (its own refund holds the amount) goes to the gate, which replays or resumes it.
        if (RefundProblems.Precheck(payment, request.AmountMinor) is { } code && await keys.FindKeyAsync(key) is null)
            return RefundProblems.Result(payment, code);

        return await refunds.CreateAsync(key, request);
    }

    private static async Task<IResult> GetAsync(HttpContext http, string id, RefundStore refunds)
    {
        var caller = Caller.From(http.User);
        if (!Guid.TryParse(id, out var refundId)) return Problems.NotFoundResult("refund");
        var refund = await refunds.FindAsync(refundId);
        if (refund is null || !PaymentAccess.MerchantOrOpsSees(caller, refund.MerchantId)) return Problems.NotFoundResult("refund");
        return new StoredResponse(StatusCodes.Status200OK, refund.ToJson());
    }

    private static async Task<IResult> ListAsync(HttpContext http, string id, PaymentStore payments, RefundStore refunds,
        Microsoft.Extensions.Options.IOptions<RefundsOptions> options)
    {
        var caller = Caller.From(http.User);
        if (!Guid.TryParse(id, out var paymentId)) return Problems.NotFoundResult("payment");
        var payment = await payments.FindAsync(paymentId);
        if (payment is null || !PaymentAccess.MerchantOrOpsSees(caller, payment.MerchantId)) return Problems.NotFoundResult("payment");
        var max = options.Value.MaxRefundsPerPayment;
        // One extra row tells whether the payment has more refunds than one answer lists.
        var list = await refunds.ListByPaymentAsync(paymentId, max + 1);
        var buffer = new ArrayBufferWriter<byte>(2048);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteString("payment_id", paymentId);
            json.WriteNumber("amount_refunded", payment.AmountRefundedMinor);
            json.WriteStartArray("data");
            foreach (var refund in list.Take(max)) refund.WriteTo(json);
            json.WriteEndArray();
            json.WriteBoolean("has_more", list.Count > max);
            json.WriteEndObject();
        }
        return new StoredResponse(StatusCodes.Status200OK, Encoding.UTF8.GetString(buffer.WrittenSpan));
    }
}

/// <summary>The refund request body: optional <c>amount</c> (positive integer minor units), <c>currency</c>, <c>reason</c>; nothing else.</summary>
public static class RefundRequestParser
{
    private static readonly HashSet<string> Fields = ["amount", "currency", "reason"];

    public static (CreateRefundRequest? Request, IResult? Refusal) Parse(ReadOnlyMemory<byte> body, Guid paymentId)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException)
        {
            return (null, Problems.Result(Problems.InvalidJson, "Invalid JSON", StatusCodes.Status400BadRequest, "The body is not valid JSON."));
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return (null, Problems.Result(Problems.InvalidJson, "Invalid JSON", StatusCodes.Status400BadRequest, "The body must be a JSON object."));
            var errors = new Dictionary<string, string[]>();
            long? amount = null;
            string? currency = null, reason = null;
            var type = Problems.InvalidRequest;
            foreach (var field in root.EnumerateObject())
            {
                if (!Fields.Contains(field.Name)) errors[field.Name] = ["is not a refund field"];
            }
            if (root.TryGetProperty("amount", out var a))
            {
                if (a.ValueKind != JsonValueKind.Number || !a.TryGetInt64(out var value)) errors["amount"] = ["must be an integer number of minor units"];
                else if (value <= 0) errors["amount"] = ["must be greater than zero"];
                else amount = value;
                if (errors.ContainsKey("amount")) type = Problems.InvalidAmount;
            }
            if (root.TryGetProperty("currency", out var c))
            {
                if (c.ValueKind != JsonValueKind.String || c.GetString() is not { Length: 3 } code) errors["currency"] = ["must be the payment's ISO 4217 code"];
                else currency = code.ToUpperInvariant();
            }
            if (root.TryGetProperty("reason", out var r))
            {
                if (r.ValueKind != JsonValueKind.String || !RefundRecord.Reasons.Contains(r.GetString()!))
                    errors["reason"] = ["must be one of duplicate, fraudulent, requested_by_customer"];
                else reason = r.GetString();
            }
            if (errors.Count > 0)
                return (null, Problems.Result(type, type == Problems.InvalidAmount ? "Invalid amount" : "Invalid request",
                    StatusCodes.Status400BadRequest, "Some fields are invalid.", errors));
            return (new CreateRefundRequest(paymentId, amount, currency, reason), null);
        }
    }
}

using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Payrail.Api;
using Payrail.Auth;
using Payrail.Idempotency;
using Payrail.Merchants;
using Payrail.Psp;

namespace Payrail.Payments;

public static class PaymentsEndpoints
{
    private const int DefaultListLimit = 10;
    private const int MaxListLimit = 100;

    public static IEndpointRouteBuilder MapPaymentsEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/payments", CreateAsync).RequireAuthorization(Roles.Buyer);
        app.MapGet("/v1/payments/{id}", GetAsync).RequireAuthorization("any");
        app.MapGet("/v1/payments", ListAsync).RequireAuthorization(Roles.Merchant);
        return app;
    }

    /// <summary>Refusals come first and write nothing: token (by the pipeline), key, content type, size, body, merchant.</summary>
    private static async Task<IResult> CreateAsync(HttpContext http, PaymentCreation payments, KnownMerchants merchants, IPspConnector psp)
    {
        var caller = Caller.From(http.User);
        if (IdempotencyGate.TryReadKey(http, caller, PaymentCreation.Route, out var key) is { } keyRefusal) return keyRefusal;

        var (body, refusal) = await RequestBody.ReadJsonAsync(http);
        if (refusal is not null) return refusal;
        if (!PaymentRequestParser.TryParse(body, out var request, out var rejection)) return rejection!.ToResult();
        if (PspRefusal(psp.CheckAmount(request!.AmountMinor, request.Currency.Code)) is { } pspRefusal) return pspRefusal;
        if (!await merchants.ExistsAsync(request.MerchantId))
            return Problems.Result(Problems.UnknownMerchant, "Unknown merchant", StatusCodes.Status422UnprocessableEntity,
                "No merchant has this merchant_id.", new Dictionary<string, string[]> { ["merchant_id"] = ["is not a known merchant"] });

        return await payments.CreateAsync(caller, key, request);
    }

    /// <summary>
    /// The PSP's own rules on the amount (its unit, minimum and maximum), asked before anything is written: a payment
    /// the PSP cannot charge exactly is refused here rather than rounded or declined after it was recorded.
    /// </summary>
    internal static IResult? PspRefusal(PspAmountCheck check)
    {
        var (type, field, message) = check switch
        {
            PspAmountCheck.Chargeable => (null, "", ""),
            PspAmountCheck.CurrencyNotSupported => (Problems.CurrencyNotChargeable, "currency", "is not a currency our payment provider charges in"),
            PspAmountCheck.NotRepresentable => (Problems.AmountNotChargeable, "amount", "cannot be charged exactly in this currency by our payment provider"),
            PspAmountCheck.BelowMinimum => (Problems.AmountNotChargeable, "amount", "is below our payment provider's minimum charge for this currency"),
            PspAmountCheck.AboveMaximum => (Problems.AmountNotChargeable, "amount", "is above our payment provider's maximum charge for this currency"),
            _ => throw new InvalidOperationException($"Unhandled {nameof(PspAmountCheck)} {check}."),
        };
        if (type is null) return null;
        var title = type == Problems.CurrencyNotChargeable ? "Currency not chargeable" : "Amount not chargeable";
        return Problems.Result(type, title, StatusCodes.Status400BadRequest, "One field is invalid.",
            new Dictionary<string, string[]> { [field] = [message] });
    }

    /// <summary>A payment is visible to the buyer who paid and to the merchant paid; to anyone else it does not exist.</summary>
    private static async Task<IResult> GetAsync(HttpContext http, string id, PaymentStore store)
    {
        var caller = Caller.From(http.User);
        if (!Guid.TryParse(id, out var paymentId)) return Problems.NotFoundResult("payment");
        var payment = await store.FindAsync(paymentId);
        if (payment is null || !CanSee(caller, payment)) return Problems.NotFoundResult("payment");
        return new StoredResponse(StatusCodes.Status200OK, payment.ToJson());
    }

    private static bool CanSee(Caller caller, PaymentRecord payment) =>
        (caller.IsBuyer && caller.Subject == payment.BuyerId) || (caller.IsMerchant && caller.MerchantId == payment.MerchantId);

    private static async Task<IResult> ListAsync(HttpContext http, PaymentStore store)
    {
        var caller = Caller.From(http.User);
        var query = http.Request.Query;
        var limit = DefaultListLimit;
        var errors = new Dictionary<string, string[]>();
        if (query.TryGetValue("limit", out var limitText)
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxListLimit))
            errors["limit"] = [$"must be an integer from 1 to {MaxListLimit}"];
        Guid? startingAfter = null;
        if (query.TryGetValue("starting_after", out var afterText))
        {
            if (Guid.TryParse(afterText, out var after)) startingAfter = after;
            else errors["starting_after"] = ["must be a payment id"];
        }
        if (errors.Count > 0)
            return Problems.Result(Problems.InvalidRequest, "Invalid request", StatusCodes.Status400BadRequest, "Some query parameters are invalid.", errors);

        // One extra row tells whether there is a next page.
        var page = await store.ListByMerchantAsync(caller.MerchantId!, limit + 1, startingAfter);
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            foreach (var payment in page.Take(limit)) payment.WriteTo(json);
            json.WriteEndArray();
            json.WriteBoolean("has_more", page.Count > limit);
            json.WriteEndObject();
        }
        return new StoredResponse(StatusCodes.Status200OK, Encoding.UTF8.GetString(buffer.WrittenSpan));
    }
}

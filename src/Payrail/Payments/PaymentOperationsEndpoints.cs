using Payrail.Api;
using Payrail.Auth;
using Payrail.Idempotency;
using Payrail.Psp;

namespace Payrail.Payments;

/// <summary>
/// <c>POST /v1/payments/{id}/capture</c> (optional <c>amount</c>: one final capture, the rest released) and
/// <c>POST /v1/payments/{id}/void</c> (optional <c>reason</c>), for the payment's merchant or ops (<see cref="PaymentAccess"/>).
/// </summary>
public static class PaymentOperationsEndpoints
{
    public static IEndpointRouteBuilder MapPaymentOperationsEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/payments/{id}/capture", (HttpContext http, string id, PaymentStore store, PaymentOperations operations, IPspConnector psp) =>
                RunAsync(http, id, PaymentOperationKind.Capture, store, operations, psp))
            .RequireAuthorization(PaymentAccess.MerchantOrOps)
            .WithSummary("Capture an authorized payment")
            .WithDescription("Body (optional): `{\"amount\": <minor units>}`, at most the authorized amount; default all of it. " +
                             "One final capture: the rest of the authorization is released. 409 `payment-state-conflict` unless " +
                             "the payment is authorized; 409 `capture-above-authorized`; 409 `authorization-expired`.");
        app.MapPost("/v1/payments/{id}/void", (HttpContext http, string id, PaymentStore store, PaymentOperations operations, IPspConnector psp) =>
                RunAsync(http, id, PaymentOperationKind.Void, store, operations, psp))
            .RequireAuthorization(PaymentAccess.MerchantOrOps)
            .WithSummary("Void an authorized payment")
            .WithDescription("Body (optional): `{\"reason\": \"duplicate\" | \"fraudulent\" | \"requested_by_customer\" | \"abandoned\"}`. " +
                             "Releases the whole authorization. 409 `payment-state-conflict` unless the payment is authorized.");
        return app;
    }

    /// <summary>Refusals that write nothing come first: token (by the policy), payment, key, content type, size, body, PSP amount rules.</summary>
    private static async Task<IResult> RunAsync(HttpContext http, string id, PaymentOperationKind kind, PaymentStore store,
        PaymentOperations operations, IPspConnector psp)
    {
        var caller = Caller.From(http.User);
        if (!Guid.TryParse(id, out var paymentId)) return Problems.NotFoundResult("payment");
        var payment = await store.FindAsync(paymentId);
        if (payment is null || !PaymentAccess.MerchantOrOpsSees(caller, payment)) return Problems.NotFoundResult("payment");
        if (IdempotencyGate.TryReadKey(http, caller, PaymentOperations.RouteFor(kind), out var key) is { } keyRefusal) return keyRefusal;

        var body = ReadOnlyMemory<byte>.Empty;
        if (HasBody(http.Request))
        {
            var (read, refusal) = await RequestBody.ReadJsonAsync(http);
            if (refusal is not null) return refusal;
            body = read;
        }
        if (!PaymentOperationRequest.TryParse(kind, paymentId, body, out var request, out var rejection)) return rejection!.ToResult();
        // A partial capture is a charge of its own at the PSP: its minimum and unit apply. Above the authorization is the
        // payment's state (409), decided under the gate.
        if (request!.AmountMinor is { } amount && amount <= payment.AmountMinor
            && PaymentsEndpoints.PspRefusal(psp.CheckAmount(amount, payment.CurrencyCode)) is { } pspRefusal)
            return pspRefusal;

        return await operations.RunAsync(key, request);
    }

    /// <summary>No body at all (no length, no type: <c>curl -X POST</c>) means every field defaulted.</summary>
    private static bool HasBody(HttpRequest request) => request.ContentLength is > 0 || (request.ContentLength is null && request.ContentType is not null);
}

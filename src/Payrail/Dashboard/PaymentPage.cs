using System.Text;
using Npgsql;
using Payrail.Auth;

namespace Payrail.Dashboard;

/// <summary>
/// GET /payments/{id}: one payment's audit trail (transitions with times), ledger transfers, webhooks received and the
/// consumers' effects (notifications, fraud review, loyalty points), with the actions its status allows. Another
/// merchant's payment is 404, the same page as a payment that does not exist.
/// POST /payments/{id}/{capture|void|refunds}: the action's form, sent on to the API (<see cref="PaymentActionsClient"/>).
/// </summary>
public static class PaymentPage
{
    /// <summary>A message shown on one action's form after it was sent; <see cref="KeepKey"/> when the outcome is unknown.</summary>
    public sealed record Notice(string Action, bool IsProblem, string Title, string? Detail, IReadOnlyList<string> Errors, string? KeepKey);

    public static IEndpointRouteBuilder MapPaymentPage(this IEndpointRouteBuilder app)
    {
        app.MapGet("/payments/{id}", (HttpContext http, string id, NpgsqlDataSource database, DashboardWebOptions options,
            DashboardAntiforgery antiforgery) => RenderAsync(http, id, database, options, antiforgery, notice: null));
        app.MapPost("/payments/{id}/{action}", ActAsync);
        return app;
    }

    private static async Task<IResult> RenderAsync(HttpContext http, string id, NpgsqlDataSource database, DashboardWebOptions options,
        DashboardAntiforgery antiforgery, Notice? notice, int status = 200)
    {
        if (DashboardSession.CallerOf(http) is not { } caller) return Results.Redirect("/signin");
        var token = antiforgery.Issue(http);
        if (await VisibleAsync(http, caller, id, database, options) is not { } details) return Html.NotFound(caller, token, "payment");
        var done = http.Request.Query["done"].ToString() is { Length: > 0 } d && PaymentAction.Named(d) is { } action ? action : null;
        var body = new StringBuilder(16 * 1024);
        PaymentSections.AppendSummary(body, details);
        if (done is not null) body.Append("<p class=\"ok\" role=\"status\">").Append(Html.E(done.Label)).Append(" sent: the API accepted it.</p>");
        PaymentSections.AppendActions(body, details, token, notice);
        PaymentSections.AppendHistory(body, details);
        return Html.Page($"Payment {details.Payment.Id}", caller, body.ToString(), token, status);
    }

    /// <summary>The payment when the caller may see it: its merchant, or ops. Anything else is "no such payment".</summary>
    private static async Task<PaymentDetails?> VisibleAsync(HttpContext http, Caller caller, string id, NpgsqlDataSource database,
        DashboardWebOptions options)
    {
        if (!Guid.TryParse(id, out var paymentId)) return null;
        var details = await PaymentDetails.ReadAsync(database, paymentId, options.DatabaseTimeoutSeconds, http.RequestAborted);
        return details is null || (caller.IsMerchant && details.MerchantId != caller.MerchantId) ? null : details;
    }

    private static async Task<IResult> ActAsync(HttpContext http, string id, string action, NpgsqlDataSource database,
        DashboardWebOptions options, DashboardAntiforgery antiforgery, PaymentActionsClient api)
    {
        if (DashboardSession.CallerOf(http) is not { } caller || DashboardSession.TokenOf(http) is not { } token)
            return Results.Redirect("/signin");
        if (PaymentAction.Named(action) is not { } kind || await VisibleAsync(http, caller, id, database, options) is not { } details)
            return Html.NotFound(caller, antiforgery.Issue(http), "payment");
        if (!await antiforgery.IsValidAsync(http))
            return await RenderAsync(http, id, database, options, antiforgery,
                new Notice(kind.Name, true, "The form expired", "Nothing was sent. Check the payment and try again.", [], null), 400);
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var key = form["idempotency_key"].ToString();
        if (!Guid.TryParse(key, out _))
            return await RenderAsync(http, id, database, options, antiforgery,
                new Notice(kind.Name, true, "The form is incomplete", "Nothing was sent.", [], null), 400);
        if (!PaymentActionsClient.TryParseAmount(form["amount"], details.Payment.Currency, out var amount))
            return await RenderAsync(http, id, database, options, antiforgery, new Notice(kind.Name, true, "Invalid amount",
                $"An amount in {details.Payment.Currency}, more than zero, with the currency's decimals. Nothing was sent.", [], key), 400);
        var reason = form["reason"].ToString().Trim() is { Length: > 0 and <= PaymentActionsClient.MaxReasonChars } r ? r : null;

        var outcome = await api.SendAsync(token, details.Payment.Id, kind, key, kind == PaymentAction.Void ? null : amount, reason, http.RequestAborted);
        return outcome switch
        {
            ActionOutcome.Done => Results.Redirect($"/payments/{details.Payment.Id}?done={kind.Name}"),
            ActionOutcome.Refused refused => await RenderAsync(http, id, database, options, antiforgery,
                new Notice(kind.Name, true, refused.Title, refused.Detail, refused.Errors, null), refused.Status),
            ActionOutcome.Unknown unknown => await RenderAsync(http, id, database, options, antiforgery,
                new Notice(kind.Name, true, "No answer from the API", $"{unknown.Reason}; it may have been done. Sending the form again is safe: it carries the same idempotency key.",
                    [], key), StatusCodes.Status502BadGateway),
            _ => throw new InvalidOperationException("unknown action outcome"),
        };
    }
}

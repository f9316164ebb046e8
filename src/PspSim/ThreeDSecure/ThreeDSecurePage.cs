using System.Net;
using System.Text.Json;
using PspSim.Api;
using PspSim.Faults;
using PspSim.PaymentIntents;
using PspSim.Storage;
using PspSim.Stripe;

namespace PspSim.ThreeDSecure;

/// <summary>
/// The bank's 3-D Secure page a customer is redirected to (next_action.redirect_to_url.url): GET shows the payment with
/// Approve and Fail buttons (plain form posts, no script); POST takes the form or JSON {"outcome":"approve"|"fail"}.
/// Approve authorizes (succeeded, or requires_capture for manual capture); fail returns the intent to
/// requires_payment_method with last_payment_error payment_intent_authentication_failure. The merchant learns the
/// outcome by webhook (and by retrieving the intent), never from this page.
/// </summary>
public static class ThreeDSecurePage
{
    public static string UrlFor(string baseUrl, string paymentIntentId) => $"{baseUrl}/_sim/3ds/{paymentIntentId}";

    public static void Map(RouteGroupBuilder sim)
    {
        sim.MapGet("/3ds/{id}", (string id, SimStore store) =>
        {
            var pi = store.Read(s => s.PaymentIntents.Find(id));
            if (pi is null) return Html(404, "<p>No such payment.</p>");
            if (pi.Status != PiStatus.RequiresAction) return Html(409, $"<p>Nothing to authenticate: this payment is {Encode(pi.Status)}.</p>");
            var action = Encode($"/_sim/3ds/{pi.Id}");
            return Html(200, $"""
                <p>Payment <code>{Encode(pi.Id)}</code>: {pi.Amount} {Encode(pi.Currency.ToUpperInvariant())} (in Stripe's unit of the currency), card {Encode(pi.PaymentMethod ?? "")}.</p>
                <form method="post" action="{action}"><input type="hidden" name="outcome" value="approve"><button type="submit">Approve</button></form>
                <form method="post" action="{action}"><input type="hidden" name="outcome" value="fail"><button type="submit">Fail</button></form>
                """);
        });
        sim.MapPost("/3ds/{id}", CompleteAsync);
    }

    private static async Task<IResult> CompleteAsync(HttpContext ctx, string id, SimStore store, PspSimOptions options)
    {
        var fromForm = ctx.Request.HasFormContentType;
        string? outcome;
        if (fromForm)
        {
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
            outcome = form["outcome"].Count == 1 ? form["outcome"].ToString() : null;
        }
        else
        {
            var (json, problem) = await ControlPlane.ReadObjectAsync(ctx, new HashSet<string> { "outcome" });
            if (problem is not null) return problem;
            outcome = json.TryGetProperty("outcome", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString() : null;
        }
        if (outcome is not ("approve" or "fail")) return ControlPlane.Problem("outcome must be approve or fail");

        ApiResult result;
        try { result = PaymentIntentEndpoints.Complete(store, options, id, outcome == "approve", PiStatus.RequiresAction); }
        catch (StripeApiException e) { result = ApiResult.Error(e); }
        if (!fromForm) return Results.Text(result.Json, "application/json", statusCode: result.Status);
        if (result.Status != 200) return Html(result.Status, $"<p>{Encode(result.Body["error"]?["message"]?.GetValue<string>() ?? "Refused.")}</p>");
        var returnUrl = result.Body["next_action"] is null ? store.Read(s => s.PaymentIntents.Find(id)?.ReturnUrl) : null;
        if (returnUrl is null) return Html(200, $"<p>Authentication {(outcome == "approve" ? "approved" : "failed")}. You can close this page.</p>");
        // Back to the merchant, with the query Stripe adds on its redirect.
        var separator = returnUrl.Contains('?') ? '&' : '?';
        return Results.Redirect($"{returnUrl}{separator}payment_intent={Uri.EscapeDataString(id)}"
            + $"&payment_intent_client_secret={Uri.EscapeDataString(result.Body["client_secret"]!.GetValue<string>())}"
            + $"&redirect_status={(outcome == "approve" ? "succeeded" : "failed")}");
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    private static IResult Html(int status, string content) => Results.Content(
        $"<!doctype html><html><head><meta charset=\"utf-8\"><title>pspsim 3-D Secure</title></head><body><h1>3-D Secure (pspsim)</h1>{content}</body></html>",
        "text/html; charset=utf-8", statusCode: status);
}

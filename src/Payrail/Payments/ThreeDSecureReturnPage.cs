using System.Net;
using System.Text.RegularExpressions;

namespace Payrail.Payments;

/// <summary>
/// <c>GET /payments/return</c>: where the PSP sends the buyer's browser back after 3-D Secure (Stripe's <c>return_url</c>,
/// with <c>payment_intent</c> and <c>redirect_status</c> in the query). `payrail up` points <c>Stripe:ReturnUrl</c> here
/// so that a 3-D Secure payment gets a <c>redirect_to_url</c> next action out of the box; a merchant's own page replaces
/// it in production. The browser arrives without a token, so the page reads nothing: showing a payment's status to
/// whoever knows its PaymentIntent id would leak it, and the status is decided by the PSP's webhook anyway, not by this
/// redirect (which the buyer can forge). It only says what the redirect claims and where the truth is read.
/// </summary>
public static partial class ThreeDSecureReturnPage
{
    public const string Route = "/payments/return";

    public static IEndpointRouteBuilder MapThreeDSecureReturnPage(this IEndpointRouteBuilder app)
    {
        app.MapGet(Route, (string? payment_intent, string? redirect_status) => Results.Content(Render(payment_intent, redirect_status),
            "text/html; charset=utf-8")).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    /// <summary>The page; query values are echoed only when they have the PSP's shape (an id, a known status), HTML-encoded.</summary>
    public static string Render(string? paymentIntent, string? redirectStatus)
    {
        var status = redirectStatus is "succeeded" or "failed" ? redirectStatus : "unknown";
        var intent = paymentIntent is not null && PaymentIntentId().IsMatch(paymentIntent)
            ? $" for <code>{WebUtility.HtmlEncode(paymentIntent)}</code>" : "";
        return $"""
            <!doctype html><html><head><meta charset="utf-8"><title>Payrail: back from 3-D Secure</title></head><body>
            <h1>Back from 3-D Secure</h1>
            <p>The bank's page says authentication <strong>{status}</strong>{intent}.</p>
            <p>Payrail records the outcome when the PSP's signed webhook arrives; read it with
            <code>GET /v1/payments/:id</code> (the buyer's token): <code>captured</code> or <code>authorized</code>, else <code>failed</code>.</p>
            </body></html>
            """;
    }

    [GeneratedRegex("^pi_[A-Za-z0-9_]{1,64}$")]
    private static partial Regex PaymentIntentId();
}

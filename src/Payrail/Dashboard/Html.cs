using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Payrail.Auth;
using Payrail.Domain.Money;

namespace Payrail.Dashboard;

/// <summary>
/// Server-rendered HTML: every value that came from a database or a request goes through <see cref="E"/>; the layout
/// is one small page with the site's own stylesheet and script (no CDN, no inline script, so the Content-Security-Policy
/// can forbid both).
/// </summary>
public static class Html
{
    public const string ContentType = "text/html; charset=utf-8";

    public static string E(string? text) => HtmlEncoder.Default.Encode(text ?? "");

    /// <summary>"19.99 USD", "1000 JPY", "1.234 KWD": the currency's own exponent (Payrail.Domain Money).</summary>
    public static string Amount(long minor, string currency) =>
        Currency.TryFromCode(currency, out var c) ? new Money(minor, c).Format() : $"{minor.ToString(CultureInfo.InvariantCulture)} {currency}";

    /// <summary>UTC, to the second, ISO-like: what a merchant reads out on the phone, without a time-zone guess.</summary>
    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    public static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A hidden field carrying the anti-forgery token: every form that changes something has one.</summary>
    public static string AntiforgeryField(DashboardAntiforgery.Token token) =>
        $"<input type=\"hidden\" name=\"{E(token.FieldName)}\" value=\"{E(token.Value)}\">";

    public static IResult Page(string title, Caller? caller, string body, DashboardAntiforgery.Token? token = null, int status = 200)
    {
        var html = new StringBuilder(8 * 1024);
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(E(title)).Append(" · Payrail</title>")
            .Append("<link rel=\"stylesheet\" href=\"").Append(DashboardAssets.StylesheetPath).Append("\">")
            .Append("<script src=\"").Append(DashboardAssets.ScriptPath).Append("\" defer></script>")
            .Append("</head><body><header class=\"top\"><a class=\"brand\" href=\"/payments\">Payrail</a>");
        if (caller is not null)
        {
            html.Append("<nav>");
            if (caller.IsMerchant) html.Append("<a href=\"/payments\">Payments</a><a href=\"/day\">Day</a>");
            if (caller.IsOps) html.Append("<a href=\"/ops\">Ops</a>");
            html.Append("</nav><span class=\"who\">").Append(E(caller.IsMerchant ? caller.MerchantId : "ops")).Append("</span>");
            if (token is not null)
                html.Append("<form method=\"post\" action=\"/signout\" class=\"inline\">").Append(AntiforgeryField(token))
                    .Append("<button type=\"submit\" class=\"link\">Sign out</button></form>");
        }
        html.Append("</header><main>").Append(body).Append("</main></body></html>");
        return Results.Content(html.ToString(), ContentType, Encoding.UTF8, status);
    }

    public static IResult NotFound(Caller? caller, DashboardAntiforgery.Token? token, string what) =>
        Page("Not found", caller, $"<h1>Not found</h1><p>No {E(what)} here. <a href=\"/payments\">Back to payments</a></p>", token, 404);
}

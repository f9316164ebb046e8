using System.Text;
using Npgsql;

namespace Payrail.Dashboard;

/// <summary>
/// GET /payments: the merchant's payments, newest first, with filters, search and cursor paging; the rows change live
/// (dashboard.js listens on /stream from the position read before the rows, so no change between the two is missed).
/// </summary>
public static class PaymentsPage
{
    public static IEndpointRouteBuilder MapPaymentsPage(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext http) =>
            Results.Redirect(DashboardSession.CallerOf(http) is { IsOps: true } ? "/ops" : "/payments"));
        app.MapGet("/payments", RenderAsync);
        return app;
    }

    private static async Task<IResult> RenderAsync(HttpContext http, NpgsqlDataSource database, DashboardWebOptions options,
        DashboardAntiforgery antiforgery)
    {
        if (DashboardSession.CallerOf(http) is not { } caller) return Results.Redirect("/signin");
        if (caller.MerchantId is not { } merchantId) return Results.Redirect("/ops");
        var token = antiforgery.Issue(http);
        var filter = PaymentsFilter.Parse(http.Request.Query, out var errors);
        // The position first, then the rows: a change committed in between is in both, and the page keeps the newer.
        var position = await StreamLog.PositionAsync(database, merchantId, http.RequestAborted);
        var (rows, hasMore) = errors.Count > 0 ? ([], false)
            : await PaymentsList.PageAsync(database, merchantId, filter, options.PageSize, options.DatabaseTimeoutSeconds, http.RequestAborted);

        var body = new StringBuilder(16 * 1024);
        body.Append("<h1>Payments <span id=\"live\" class=\"live\" data-state=\"connecting\" aria-live=\"polite\">connecting…</span></h1>");
        AppendFilters(body, filter, errors);
        var query = filter.ToQuery(minor => FormatAmount(minor, filter.Currency));
        body.Append("<p><a href=\"/payments/export.csv").Append(query.Length > 0 ? "?" + Html.E(query) : "")
            .Append("\" download>Export these payments (CSV)</a></p>");
        var liveNew = !filter.Narrows && filter.After is null;
        body.Append("<div class=\"scroll\"><table id=\"payments\" data-stream-after=\"").Append(Html.Int(position))
            .Append("\" data-live-new=\"").Append(liveNew ? "true" : "false").Append("\">")
            .Append("<thead><tr><th>Payment</th><th class=\"num\">Amount</th><th>Status</th><th>Time</th><th class=\"hide-narrow\">Buyer</th></tr></thead><tbody>");
        foreach (var row in rows) AppendRow(body, row);
        body.Append("</tbody></table></div>");
        if (rows.Count == 0) body.Append("<p id=\"empty\" class=\"muted\">No payments match.</p>");
        body.Append("<nav class=\"pager\" aria-label=\"pages\">");
        if (filter.After is not null) body.Append("<a href=\"/payments").Append(query.Length > 0 ? "?" + Html.E(query) : "").Append("\">Newest</a>");
        if (hasMore)
        {
            var last = rows[^1];
            var next = new PaymentsCursor(last.CreatedAt, last.Id).ToString();
            body.Append("<a rel=\"next\" href=\"/payments?").Append(query.Length > 0 ? Html.E(query) + "&amp;" : "")
                .Append("after=").Append(Html.E(next)).Append("\">Older</a>");
        }
        body.Append("</nav>");
        return Html.Page("Payments", caller, body.ToString(), token);
    }

    private static void AppendRow(StringBuilder body, PaymentRow row)
    {
        body.Append("<tr data-id=\"").Append(row.Id).Append("\" data-version=\"").Append(row.Version).Append("\" data-status=\"")
            .Append(Html.E(row.Status)).Append("\"><td data-col=\"id\"><a href=\"/payments/").Append(row.Id).Append("\">").Append(row.Id)
            .Append("</a></td><td data-col=\"amount\" class=\"num\">").Append(Html.E(Html.Amount(row.AmountMinor, row.Currency)))
            .Append("</td><td data-col=\"status\"><span class=\"status ").Append(Html.E(row.Status)).Append("\">").Append(Html.E(row.Status))
            .Append("</span></td><td data-col=\"time\">").Append(Html.E(Html.Time(row.CreatedAt)))
            .Append("</td><td data-col=\"buyer\" class=\"hide-narrow\">").Append(Html.E(row.BuyerId)).Append("</td></tr>");
    }

    private static void AppendFilters(StringBuilder body, PaymentsFilter filter, Dictionary<string, string> errors)
    {
        body.Append("<form method=\"get\" action=\"/payments\" class=\"filters\" role=\"search\">");
        Input(body, "q", "Search: payment id, PSP reference or buyer", filter.Search, "search");
        body.Append("<label>Status<select name=\"status\"><option value=\"\">any</option>");
        foreach (var status in PaymentsFilter.Statuses)
            body.Append("<option").Append(status == filter.Status ? " selected" : "").Append('>').Append(status).Append("</option>");
        body.Append("</select></label>");
        Input(body, "from", "From (UTC day)", filter.From?.ToString("yyyy-MM-dd"), "date");
        Input(body, "to", "To (UTC day)", filter.To?.ToString("yyyy-MM-dd"), "date");
        Input(body, "currency", "Currency", filter.Currency, "text");
        Input(body, "min", "Min amount", filter.MinAmountMinor is { } min ? FormatAmount(min, filter.Currency) : null, "text");
        Input(body, "max", "Max amount", filter.MaxAmountMinor is { } max ? FormatAmount(max, filter.Currency) : null, "text");
        Input(body, "method", "Payment method", filter.PaymentMethod, "text");
        body.Append("<button type=\"submit\">Apply</button> <a href=\"/payments\">Clear</a></form>");
        if (errors.Count > 0)
        {
            body.Append("<div class=\"problem\" role=\"alert\"><ul>");
            foreach (var (name, message) in errors) body.Append("<li>").Append(Html.E(name)).Append(": ").Append(Html.E(message)).Append("</li>");
            body.Append("</ul></div>");
        }
    }

    private static void Input(StringBuilder body, string name, string label, string? value, string type) =>
        body.Append("<label>").Append(Html.E(label)).Append("<input type=\"").Append(type).Append("\" name=\"").Append(name)
            .Append("\" value=\"").Append(Html.E(value)).Append("\"></label>");

    /// <summary>A filter amount back in the form it was typed ("19.99"), without the currency code.</summary>
    private static string FormatAmount(long minor, string? currency)
    {
        var formatted = Html.Amount(minor, currency ?? "XXX");
        var space = formatted.LastIndexOf(' ');
        return space > 0 ? formatted[..space] : formatted;
    }
}

using System.Globalization;
using System.Text;
using Npgsql;

namespace Payrail.Dashboard;

/// <summary>
/// GET /day?date=YYYY-MM-DD: a day's takings from the analytics consumer (<c>analytics_daily</c>): per currency the
/// captured and refunded sums and what remains, counts by status, and a bar chart of those counts drawn here as SVG.
/// PSP fees are not recorded yet (settlement, issue 11), so the page says so instead of showing a zero.
/// </summary>
public static class DayPage
{
    public sealed record StatusCount(string Currency, string Status, long Payments, long AmountMinor);

    public static IEndpointRouteBuilder MapDayPage(this IEndpointRouteBuilder app)
    {
        app.MapGet("/day", RenderAsync);
        return app;
    }

    private static async Task<IResult> RenderAsync(HttpContext http, NpgsqlDataSource database, DashboardWebOptions options,
        DashboardAntiforgery antiforgery, TimeProvider clock)
    {
        if (DashboardSession.CallerOf(http) is not { } caller) return Results.Redirect("/signin");
        if (caller.MerchantId is not { } merchantId) return Results.Redirect("/ops");
        var token = antiforgery.Issue(http);
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        var text = http.Request.Query["date"].ToString();
        if (!(text.Length == 0 || DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out today)))
            return Html.Page("Day", caller, "<h1>Day</h1><p class=\"problem\" role=\"alert\">date: a date as YYYY-MM-DD</p>", token, 400);
        var counts = await ReadAsync(database, merchantId, today, options.DatabaseTimeoutSeconds, http.RequestAborted);
        var day = today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        var body = new StringBuilder(8 * 1024);
        body.Append("<h1>Day ").Append(day).Append(" <span class=\"muted\">(UTC)</span></h1>")
            .Append("<form method=\"get\" action=\"/day\" class=\"filters\"><label>Day<input type=\"date\" name=\"date\" value=\"").Append(day)
            .Append("\"></label><button type=\"submit\">Show</button></form>");
        AppendTotals(body, counts);
        body.Append("<h2>Payments by status</h2>").Append(DayChart.Svg(counts.GroupBy(c => c.Status)
            .Select(g => (g.Key, g.Sum(c => c.Payments))).OrderByDescending(b => b.Item2).ToList()));
        body.Append("<p><a href=\"/payments/export.csv?from=").Append(day).Append("&amp;to=").Append(day)
            .Append("\" download>Export this day's payments (CSV)</a> · <a href=\"/payments?from=").Append(day).Append("&amp;to=").Append(day)
            .Append("\">List them</a></p>");
        return Html.Page($"Day {day}", caller, body.ToString(), token);
    }

    private static void AppendTotals(StringBuilder body, List<StatusCount> counts)
    {
        body.Append("<h2>Totals per currency</h2>");
        if (counts.Count == 0)
        {
            body.Append("<p class=\"muted\" id=\"no-takings\">No payments this day.</p>");
            return;
        }
        body.Append("<div class=\"scroll\"><table id=\"totals\"><thead><tr><th>Currency</th><th class=\"num\">Captured</th>")
            .Append("<th class=\"num\">Refunded</th><th class=\"num\">Fees</th><th class=\"num\">Net</th><th>Payments by status</th></tr></thead><tbody>");
        foreach (var currency in counts.GroupBy(c => c.Currency).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            long Sum(string status) => currency.Where(c => c.Status == status).Sum(c => c.AmountMinor);
            var captured = Sum("captured");
            var refunded = Sum("refunded");
            body.Append("<tr data-currency=\"").Append(Html.E(currency.Key)).Append("\"><td>").Append(Html.E(currency.Key))
                .Append("</td><td class=\"num\" data-col=\"captured\">").Append(Html.E(Html.Amount(captured, currency.Key)))
                .Append("</td><td class=\"num\" data-col=\"refunded\">").Append(Html.E(Html.Amount(refunded, currency.Key)))
                .Append("</td><td class=\"num\" title=\"PSP fees are recorded by settlement (not yet)\">—</td><td class=\"num\" data-col=\"net\">")
                .Append(Html.E(Html.Amount(captured - refunded, currency.Key))).Append("</td><td>")
                .Append(Html.E(string.Join(", ", currency.OrderBy(c => c.Status, StringComparer.Ordinal).Select(c => $"{c.Status} {c.Payments}"))))
                .Append("</td></tr>");
        }
        body.Append("</tbody></table></div>");
    }

    private static async Task<List<StatusCount>> ReadAsync(NpgsqlDataSource database, string merchantId, DateOnly day, int timeoutSeconds,
        CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT currency, status, payments, amount_minor FROM analytics_daily
            WHERE merchant_id = @merchant_id AND day = @day ORDER BY currency, status
            """);
        command.CommandTimeout = timeoutSeconds;
        command.Parameters.AddWithValue("merchant_id", merchantId);
        command.Parameters.AddWithValue("day", day);
        var counts = new List<StatusCount>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            counts.Add(new StatusCount(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)));
        return counts;
    }
}

/// <summary>A horizontal bar chart as SVG text, drawn on the server: integer geometry, every label encoded, no script.</summary>
public static class DayChart
{
    private const int Width = 600;
    private const int BarHeight = 24;
    private const int Gap = 8;
    private const int LabelWidth = 110;
    private const int ValueWidth = 70;

    public static string Svg(IReadOnlyList<(string Label, long Value)> bars)
    {
        var height = Math.Max(1, bars.Count) * (BarHeight + Gap) + Gap;
        var max = bars.Count == 0 ? 1 : Math.Max(1, bars.Max(b => b.Value));
        var svg = new StringBuilder(1024);
        svg.Append("<svg class=\"chart\" id=\"status-chart\" role=\"img\" aria-label=\"payments by status\" viewBox=\"0 0 ")
            .Append(Width).Append(' ').Append(height).Append("\" width=\"").Append(Width).Append("\" height=\"").Append(height)
            .Append("\" xmlns=\"http://www.w3.org/2000/svg\">");
        if (bars.Count == 0) svg.Append("<text x=\"").Append(Gap).Append("\" y=\"").Append(BarHeight).Append("\">no payments</text>");
        var y = Gap;
        foreach (var (label, value) in bars)
        {
            // Integer arithmetic: the widest bar fills the track, the others in proportion (never 0 wide when non-zero).
            var track = Width - LabelWidth - ValueWidth;
            var width = value == 0 ? 0 : Math.Max(2, (int)(value * track / max));
            svg.Append("<text x=\"0\" y=\"").Append(y + 17).Append("\">").Append(Html.E(label)).Append("</text>")
                .Append("<rect x=\"").Append(LabelWidth).Append("\" y=\"").Append(y).Append("\" width=\"").Append(width)
                .Append("\" height=\"").Append(BarHeight).Append("\" fill=\"#14213d\"><title>").Append(Html.E(label)).Append(": ")
                .Append(Html.Int(value)).Append("</title></rect>")
                .Append("<text x=\"").Append(LabelWidth + width + 6).Append("\" y=\"").Append(y + 17).Append("\">").Append(Html.Int(value)).Append("</text>");
            y += BarHeight + Gap;
        }
        return svg.Append("</svg>").ToString();
    }
}

using System.Text;

namespace Payrail.Dashboard;

/// <summary>The parts of a payment's page, each a small renderer of <see cref="PaymentDetails"/>.</summary>
internal static class PaymentSections
{
    public static void AppendSummary(StringBuilder body, PaymentDetails details)
    {
        var p = details.Payment;
        body.Append("<p><a href=\"/payments\">← Payments</a></p><h1>").Append(Html.E(Html.Amount(p.AmountMinor, p.Currency)))
            .Append(" <span class=\"status ").Append(Html.E(p.Status)).Append("\" id=\"payment-status\">").Append(Html.E(p.Status)).Append("</span></h1>")
            .Append("<dl class=\"facts\">");
        Fact(body, "Payment", p.Id.ToString());
        Fact(body, "Created", Html.Time(p.CreatedAt));
        Fact(body, "Updated", Html.Time(details.UpdatedAt));
        Fact(body, "Buyer", p.BuyerId);
        Fact(body, "Captured", Html.Amount(p.CapturedMinor, p.Currency));
        Fact(body, "Refunded", Html.Amount(p.RefundedMinor, p.Currency));
        Fact(body, "Capture", details.CaptureMethod);
        Fact(body, "Payment method", p.PaymentMethod ?? "—");
        Fact(body, "PSP reference", p.PspReference is null ? "—" : $"{details.Psp} {p.PspReference}");
        if (details.FailureCode is not null) Fact(body, "Failure", details.FailureCode);
        if (details.Description is not null) Fact(body, "Description", details.Description);
        body.Append("</dl>");
    }

    private static void Fact(StringBuilder body, string name, string value) =>
        body.Append("<dt>").Append(Html.E(name)).Append("</dt><dd>").Append(Html.E(value)).Append("</dd>");

    /// <summary>
    /// One form per allowed action, each with an idempotency key generated now, once for this rendering: the same form
    /// sent twice (double-click, browser retry) carries the same key and cannot act twice.
    /// </summary>
    public static void AppendActions(StringBuilder body, PaymentDetails details, DashboardAntiforgery.Token token, PaymentPage.Notice? notice)
    {
        var p = details.Payment;
        var allowed = PaymentAction.AllowedFor(p.Status, p.CapturedMinor, p.RefundedMinor);
        if (allowed.Count == 0) return;
        body.Append("<h2>Actions</h2><div class=\"actions\">");
        foreach (var action in allowed)
        {
            var own = notice?.Action == action.Name ? notice : null;
            var key = own?.KeepKey ?? Guid.NewGuid().ToString();
            body.Append("<form method=\"post\" id=\"action-").Append(action.Name).Append("\" action=\"/payments/").Append(p.Id).Append('/')
                .Append(action.Name).Append("\">").Append(Html.AntiforgeryField(token))
                .Append("<input type=\"hidden\" name=\"idempotency_key\" value=\"").Append(key).Append("\">")
                .Append("<strong>").Append(Html.E(action.Label)).Append("</strong>");
            if (own is not null) AppendNotice(body, own);
            if (action == PaymentAction.Capture)
                AmountField(body, action, p.AmountMinor, p.Currency, "Amount to capture (the rest is released)");
            if (action == PaymentAction.Refund)
                AmountField(body, action, p.CapturedMinor - p.RefundedMinor, p.Currency, "Amount to refund");
            if (action != PaymentAction.Capture)
                body.Append("<label for=\"").Append(action.Name).Append("-reason\">Reason</label><input id=\"").Append(action.Name)
                    .Append("-reason\" name=\"reason\" maxlength=\"").Append(PaymentActionsClient.MaxReasonChars).Append("\">");
            body.Append("<button type=\"submit\">").Append(Html.E(action.Label)).Append("</button></form>");
        }
        body.Append("</div>");
    }

    private static void AmountField(StringBuilder body, PaymentAction action, long defaultMinor, string currency, string label)
    {
        var formatted = Html.Amount(defaultMinor, currency);
        body.Append("<label for=\"").Append(action.Name).Append("-amount\">").Append(Html.E(label)).Append(" (")
            .Append(Html.E(currency)).Append(")</label><input id=\"").Append(action.Name).Append("-amount\" name=\"amount\" inputmode=\"decimal\" value=\"")
            .Append(Html.E(formatted[..formatted.LastIndexOf(' ')])).Append("\">");
    }

    private static void AppendNotice(StringBuilder body, PaymentPage.Notice notice)
    {
        body.Append("<div class=\"").Append(notice.IsProblem ? "problem" : "ok").Append("\" role=\"alert\"><strong>")
            .Append(Html.E(notice.Title)).Append("</strong>");
        if (notice.Detail is not null) body.Append("<br>").Append(Html.E(notice.Detail));
        foreach (var error in notice.Errors) body.Append("<br>").Append(Html.E(error));
        body.Append("</div>");
    }

    public static void AppendHistory(StringBuilder body, PaymentDetails details)
    {
        Table(body, "Transitions", "transitions", ["When", "From", "To", "Cause"], details.Transitions,
            t => [Html.Time(t.At), t.From ?? "—", t.To, t.Cause]);
        Table(body, "Ledger transfers", "transfers", ["When", "Kind", "Amount", "Debit", "Credit"], details.Transfers,
            t => [Html.Time(t.At), t.Kind, Html.Amount(t.AmountMinor, t.Currency), t.DebitOwner, t.CreditOwner]);
        Table(body, "Webhooks received", "webhooks", ["When", "Event", "Type", "Outcome"], details.Webhooks,
            w => [Html.Time(w.ReceivedAt), w.EventId ?? "—", w.EventType ?? "—", w.Outcome]);
        // Read from the refunds table at each rendering: a pending refund shows as pending until the PSP's answer moves it.
        Table(body, "Refunds", "refunds", ["Refund", "Amount", "Status", "Reason", "Created", "Failure"], details.Refunds,
            r => [r.Id.ToString(), Html.Amount(r.AmountMinor, r.Currency), r.Status, r.Reason ?? "—", Html.Time(r.CreatedAt),
                r.FailureReason ?? "—"],
            r => r.Id.ToString(), ["id", "amount", "status", "reason", "created", "failure"]);
        Table(body, "Notifications", "notifications", ["When", "To", "Subject", "Sent"], details.Notifications,
            n => [Html.Time(n.CreatedAt), n.Audience, n.Subject, n.SentAt is { } sent ? Html.Time(sent) : "not yet"]);
        Table(body, "Fraud review", "fraud", ["When", "Score", "Reasons"], details.FraudReviews,
            f => [Html.Time(f.ReviewedAt), Html.Int(f.Score), f.Reasons.Length == 0 ? "—" : string.Join(", ", f.Reasons)]);
        Table(body, "Loyalty points", "loyalty", ["When", "Kind", "Points"], details.Loyalty,
            l => [Html.Time(l.At), l.Kind, Html.Int(l.Points)]);
    }

    /// <summary>
    /// A section with a table of <paramref name="lines"/>; with <paramref name="rowId"/> and <paramref name="columns"/>, each row
    /// carries data-id and each cell data-col, so a test (or the page's script) finds a line by what it is, not by position.
    /// </summary>
    private static void Table<T>(StringBuilder body, string title, string id, string[] headers, IReadOnlyList<T> lines, Func<T, string[]> cells,
        Func<T, string>? rowId = null, string[]? columns = null)
    {
        body.Append("<section id=\"").Append(id).Append("\"><h2>").Append(Html.E(title)).Append("</h2>");
        if (lines.Count == 0)
        {
            body.Append("<p class=\"muted\">None yet.</p></section>");
            return;
        }
        body.Append("<div class=\"scroll\"><table><thead><tr>");
        foreach (var header in headers) body.Append("<th>").Append(Html.E(header)).Append("</th>");
        body.Append("</tr></thead><tbody>");
        foreach (var line in lines)
        {
            body.Append("<tr");
            if (rowId is not null) body.Append(" data-id=\"").Append(Html.E(rowId(line))).Append('"');
            body.Append('>');
            var values = cells(line);
            for (var i = 0; i < values.Length; i++)
            {
                body.Append("<td");
                if (columns is not null) body.Append(" data-col=\"").Append(columns[i]).Append('"');
                body.Append('>').Append(Html.E(values[i])).Append("</td>");
            }
            body.Append("</tr>");
        }
        body.Append("</tbody></table></div></section>");
    }
}

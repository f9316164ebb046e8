using System.Globalization;
using Npgsql;
using Payrail.Api;
using Payrail.Auth;
using Payrail.Consumers.Accounting;
using Payrail.Consumers.Loyalty;
using Payrail.Payments;

namespace Payrail.Consumers;

/// <summary>
/// The read APIs of the consumers' effects, served by `payrail api` from the consumers' tables. Authorization follows
/// the API's rules: a payment or merchant of someone else does not exist (404); a role that may not use a route is
/// refused (403).
/// </summary>
public static class ConsumerReadEndpoints
{
    private const int DefaultListLimit = 50;
    private const int MaxListLimit = 100;
    private const int MaxNotificationsPerPayment = 100;
    private const int MaxLoyaltyHistory = 100;
    private const int MaxAnalyticsDays = 366;
    private const int DefaultAnalyticsDays = 30;
    private const int MaxSettlementLinesServed = 1_000_000;

    public static IEndpointRouteBuilder MapConsumerReadEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/payments/{id}/notifications", NotificationsAsync).RequireAuthorization(PaymentAccess.MerchantOrOps);
        app.MapGet("/v1/ops/fraud/reviews", FraudReviewsAsync).RequireAuthorization(Roles.Ops);
        app.MapGet("/v1/ops/settlement/{date}", SettlementAsync).RequireAuthorization(Roles.Ops);
        app.MapGet("/v1/merchants/{id}/analytics", AnalyticsAsync).RequireAuthorization(PaymentAccess.MerchantOrOps);
        app.MapGet("/v1/loyalty", LoyaltyAsync).RequireAuthorization(Roles.Buyer);
        return app;
    }

    /// <summary>Timestamps as the API prints them everywhere (<see cref="PaymentRecord.Timestamp"/>): UTC, microseconds, Z.</summary>
    public sealed record NotificationView(Guid Id, string Audience, string Recipient, string Template, string Subject, string Body,
        string CreatedAt, string? SentAt);

    private static async Task<IResult> NotificationsAsync(HttpContext http, string id, PaymentStore payments, NpgsqlDataSource database)
    {
        var caller = Caller.From(http.User);
        if (!Guid.TryParse(id, out var paymentId)) return Problems.NotFoundResult("payment");
        var payment = await payments.FindAsync(paymentId);
        if (payment is null || !PaymentAccess.MerchantOrOpsSees(caller, payment)) return Problems.NotFoundResult("payment");

        await using var command = database.CreateCommand("""
            SELECT id, audience, recipient, template, subject, body, created_at, sent_at
            FROM notifications WHERE payment_id = @payment_id AND (audience <> 'ops' OR @ops) ORDER BY created_at, id LIMIT @limit
            """);
        command.Parameters.AddWithValue("payment_id", paymentId);
        // A reconciliation alert's ops message is the on-call engineer's, not the merchant's.
        command.Parameters.AddWithValue("ops", caller.IsOps);
        command.Parameters.AddWithValue("limit", MaxNotificationsPerPayment);
        var data = new List<NotificationView>();
        await using var reader = await command.ExecuteReaderAsync(http.RequestAborted);
        while (await reader.ReadAsync(http.RequestAborted))
            data.Add(new NotificationView(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetString(4), reader.GetString(5), Time(reader, 6), reader.IsDBNull(7) ? null : Time(reader, 7)));
        return Results.Ok(new { Object = "list", PaymentId = paymentId, Data = data });
    }

    public sealed record FraudReviewView(long Id, Guid PaymentId, string BuyerId, int Score, string[] Reasons, string ReviewedAt);

    private static async Task<IResult> FraudReviewsAsync(HttpContext http, NpgsqlDataSource database)
    {
        var query = http.Request.Query;
        var errors = new Dictionary<string, string[]>();
        Guid? paymentId = null;
        if (query.TryGetValue("payment_id", out var paymentText))
        {
            if (Guid.TryParse(paymentText, out var parsed)) paymentId = parsed;
            else errors["payment_id"] = ["must be a payment id"];
        }
        DateTimeOffset? since = null;
        if (query.TryGetValue("since", out var sinceText))
        {
            if (DateTimeOffset.TryParse(sinceText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)) since = parsed;
            else errors["since"] = ["must be an RFC 3339 timestamp"];
        }
        var limit = DefaultListLimit;
        if (query.TryGetValue("limit", out var limitText)
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxListLimit))
            errors["limit"] = [$"must be an integer from 1 to {MaxListLimit}"];
        if (errors.Count > 0) return InvalidQuery(errors);

        await using var command = database.CreateCommand("""
            SELECT id, payment_id, buyer_id, score, reasons, reviewed_at FROM fraud_reviews
            WHERE (@payment_id::uuid IS NULL OR payment_id = @payment_id) AND (@since::timestamptz IS NULL OR reviewed_at >= @since)
            ORDER BY reviewed_at, id LIMIT @limit
            """);
        command.Parameters.AddWithValue("payment_id", NpgsqlTypes.NpgsqlDbType.Uuid, (object?)paymentId ?? DBNull.Value);
        command.Parameters.AddWithValue("since", NpgsqlTypes.NpgsqlDbType.TimestampTz, (object?)since ?? DBNull.Value);
        command.Parameters.AddWithValue("limit", limit + 1);
        var data = new List<FraudReviewView>();
        await using var reader = await command.ExecuteReaderAsync(http.RequestAborted);
        while (await reader.ReadAsync(http.RequestAborted))
            data.Add(new FraudReviewView(reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.GetInt32(3),
                reader.GetFieldValue<string[]>(4), Time(reader, 5)));
        return Results.Ok(new { Object = "list", Data = data.Take(limit), HasMore = data.Count > limit });
    }

    private static async Task<IResult> SettlementAsync(HttpContext http, string date, NpgsqlDataSource database)
    {
        if (!DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            return InvalidQuery(new Dictionary<string, string[]> { ["date"] = ["must be a date as YYYY-MM-DD"] });
        var lines = await SettlementFile.ReadAsync(database, day, MaxSettlementLinesServed, http.RequestAborted);
        return Results.Text(SettlementFile.Render(lines), "text/csv; charset=utf-8");
    }

    public sealed record StatusTotals(long Count, long AmountMinor);

    public sealed record AnalyticsDay(DateOnly Day, string Currency, Dictionary<string, StatusTotals> Statuses, long RefundedAmountMinor);

    private static async Task<IResult> AnalyticsAsync(HttpContext http, string id, NpgsqlDataSource database, TimeProvider clock)
    {
        var caller = Caller.From(http.User);
        if (caller.IsMerchant && caller.MerchantId != id) return Problems.NotFoundResult("merchant");
        var query = http.Request.Query;
        var errors = new Dictionary<string, string[]>();
        var to = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        if (query.TryGetValue("to", out var toText) && !DateOnly.TryParseExact(toText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out to))
            errors["to"] = ["must be a date as YYYY-MM-DD"];
        var from = to.AddDays(-(DefaultAnalyticsDays - 1));
        if (query.TryGetValue("from", out var fromText) && !DateOnly.TryParseExact(fromText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out from))
            errors["from"] = ["must be a date as YYYY-MM-DD"];
        if (errors.Count == 0 && (from > to || to.DayNumber - from.DayNumber >= MaxAnalyticsDays))
            errors["from"] = [$"must be on or before to, at most {MaxAnalyticsDays} days before it"];
        if (errors.Count > 0) return InvalidQuery(errors);

        await using var command = database.CreateCommand("""
            SELECT day, currency, status, payments, amount_minor FROM analytics_daily
            WHERE merchant_id = @merchant_id AND day BETWEEN @from AND @to ORDER BY day, currency, status
            """);
        command.Parameters.AddWithValue("merchant_id", id);
        command.Parameters.AddWithValue("from", from);
        command.Parameters.AddWithValue("to", to);
        var days = new List<AnalyticsDay>();
        await using var reader = await command.ExecuteReaderAsync(http.RequestAborted);
        while (await reader.ReadAsync(http.RequestAborted))
        {
            var (day, currency, status) = (reader.GetFieldValue<DateOnly>(0), reader.GetString(1), reader.GetString(2));
            var totals = new StatusTotals(reader.GetInt64(3), reader.GetInt64(4));
            if (days.Count == 0 || days[^1].Day != day || days[^1].Currency != currency)
                days.Add(new AnalyticsDay(day, currency, [], 0));
            days[^1].Statuses[status] = totals;
            // Net of the refunds that came back that day (payment.refund_reversed).
            if (status == "refunded") days[^1] = days[^1] with { RefundedAmountMinor = days[^1].RefundedAmountMinor + totals.AmountMinor };
            if (status == Analytics.AnalyticsHandler.RefundReversedStatus)
                days[^1] = days[^1] with { RefundedAmountMinor = days[^1].RefundedAmountMinor - totals.AmountMinor };
        }
        return Results.Ok(new
        {
            MerchantId = id, From = from, To = to, Days = days,
            // Event schema 1 carries no PSP timings: latency percentiles cannot be derived from the events (README).
            PspLatency = (object?)null,
        });
    }

    public sealed record LoyaltyEntryView(Guid PaymentId, string Kind, long Points, string CreatedAt);

    private static async Task<IResult> LoyaltyAsync(HttpContext http, NpgsqlDataSource database)
    {
        var caller = Caller.From(http.User);
        var account = LoyaltyHandler.BuyerAccount(caller.Subject);
        await using var batch = database.CreateBatch();
        var balance = new NpgsqlBatchCommand("SELECT coalesce(sum(points), 0) FROM loyalty_entries WHERE account = @account");
        balance.Parameters.AddWithValue("account", account);
        var history = new NpgsqlBatchCommand("""
            SELECT payment_id, kind, points, created_at FROM loyalty_entries WHERE account = @account ORDER BY id DESC LIMIT @limit
            """);
        history.Parameters.AddWithValue("account", account);
        history.Parameters.AddWithValue("limit", MaxLoyaltyHistory);
        batch.BatchCommands.Add(balance);
        batch.BatchCommands.Add(history);
        await using var reader = await batch.ExecuteReaderAsync(http.RequestAborted);
        await reader.ReadAsync(http.RequestAborted);
        var points = reader.GetInt64(0);
        await reader.NextResultAsync(http.RequestAborted);
        var entries = new List<LoyaltyEntryView>();
        while (await reader.ReadAsync(http.RequestAborted))
            entries.Add(new LoyaltyEntryView(reader.GetGuid(0), reader.GetString(1), reader.GetInt64(2), Time(reader, 3)));
        return Results.Ok(new { BuyerId = caller.Subject, Balance = points, History = entries });
    }

    private static string Time(NpgsqlDataReader reader, int ordinal) => PaymentRecord.Timestamp(reader.GetFieldValue<DateTimeOffset>(ordinal));

    private static IResult InvalidQuery(Dictionary<string, string[]> errors) =>
        Problems.Result(Problems.InvalidRequest, "Invalid request", StatusCodes.Status400BadRequest, "Some parameters are invalid.", errors);
}

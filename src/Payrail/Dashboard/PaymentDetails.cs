using Npgsql;
using Payrail.Consumers.Loyalty;

namespace Payrail.Dashboard;

/// <summary>Everything the payment page shows, read in one batch (one round trip), each list bounded (MaxLines).</summary>
public sealed record PaymentDetails(
    PaymentRow Payment, string MerchantId, string? Psp, string CaptureMethod, string? FailureCode, string? Description,
    DateTimeOffset UpdatedAt,
    IReadOnlyList<PaymentDetails.TransitionLine> Transitions, IReadOnlyList<PaymentDetails.TransferLine> Transfers,
    IReadOnlyList<PaymentDetails.WebhookLine> Webhooks, IReadOnlyList<PaymentDetails.NotificationLine> Notifications,
    IReadOnlyList<PaymentDetails.FraudLine> FraudReviews, IReadOnlyList<PaymentDetails.LoyaltyLine> Loyalty,
    IReadOnlyList<PaymentDetails.RefundLine> Refunds)
{
    public const int MaxLines = 200;

    public sealed record TransitionLine(string? From, string To, string Cause, DateTimeOffset At);
    public sealed record TransferLine(Guid Id, string Kind, long AmountMinor, string Currency, string DebitOwner, string CreditOwner, DateTimeOffset At);
    public sealed record WebhookLine(string? EventId, string? EventType, string Outcome, DateTimeOffset ReceivedAt);
    public sealed record NotificationLine(string Audience, string Template, string Subject, DateTimeOffset CreatedAt, DateTimeOffset? SentAt);
    public sealed record FraudLine(int Score, string[] Reasons, DateTimeOffset ReviewedAt);
    public sealed record LoyaltyLine(string Kind, long Points, DateTimeOffset At);

    /// <summary>One refund as the refunds table holds it now (its own lifecycle: pending, succeeded, failed, canceled).</summary>
    public sealed record RefundLine(Guid Id, long AmountMinor, string Currency, string Status, string? Reason, string? FailureReason,
        DateTimeOffset CreatedAt);

    /// <summary>Null when there is no such payment (the caller turns someone else's payment into the same 404).</summary>
    public static async Task<PaymentDetails?> ReadAsync(NpgsqlDataSource database, Guid paymentId, int timeoutSeconds, CancellationToken cancellationToken)
    {
        await using var batch = database.CreateBatch();
        batch.Timeout = timeoutSeconds;
        Add(batch, """
            SELECT id, buyer_id, status, amount_minor, currency, amount_captured_minor, amount_refunded_minor, psp_reference,
                   payment_method, created_at, version, merchant_id, psp, capture_method, failure_code, description, updated_at
            FROM payments WHERE id = @id
            """, paymentId);
        Add(batch, "SELECT from_status, to_status, cause, at FROM payment_transitions WHERE payment_id = @id ORDER BY id LIMIT @limit", paymentId);
        Add(batch, """
            SELECT t.id, t.kind, t.amount_minor, t.currency, d.owner, c.owner, t.created_at
            FROM ledger_transfers t JOIN ledger_accounts d ON d.id = t.debit_account_id JOIN ledger_accounts c ON c.id = t.credit_account_id
            WHERE t.payment_id = @id ORDER BY t.created_at, t.id LIMIT @limit
            """, paymentId);
        Add(batch, "SELECT event_id, event_type, outcome, received_at FROM psp_webhook_events WHERE payment_id = @id ORDER BY id LIMIT @limit", paymentId);
        Add(batch, """
            SELECT audience, template, subject, created_at, sent_at FROM notifications WHERE payment_id = @id
            ORDER BY created_at, id LIMIT @limit
            """, paymentId);
        Add(batch, "SELECT score, reasons, reviewed_at FROM fraud_reviews WHERE payment_id = @id ORDER BY id LIMIT @limit", paymentId);
        Add(batch, $"""
            SELECT kind, points, created_at FROM loyalty_entries WHERE payment_id = @id AND account <> '{LoyaltyHandler.ProgrammeAccount}'
            ORDER BY id LIMIT @limit
            """, paymentId);
        Add(batch, """
            SELECT id, amount_minor, currency, status, reason, failure_reason, created_at FROM refunds WHERE payment_id = @id
            ORDER BY created_at, id LIMIT @limit
            """, paymentId);

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        var payment = PaymentsList.Read(reader);
        var merchantId = reader.GetString(11);
        var psp = reader.IsDBNull(12) ? null : reader.GetString(12);
        var captureMethod = reader.GetString(13);
        var failure = reader.IsDBNull(14) ? null : reader.GetString(14);
        var description = reader.IsDBNull(15) ? null : reader.GetString(15);
        var updatedAt = reader.GetFieldValue<DateTimeOffset>(16);

        var transitions = await ListAsync(reader, r => new TransitionLine(r.IsDBNull(0) ? null : r.GetString(0), r.GetString(1), r.GetString(2),
            r.GetFieldValue<DateTimeOffset>(3)), cancellationToken);
        var transfers = await ListAsync(reader, r => new TransferLine(r.GetGuid(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetString(4),
            r.GetString(5), r.GetFieldValue<DateTimeOffset>(6)), cancellationToken);
        var webhooks = await ListAsync(reader, r => new WebhookLine(r.IsDBNull(0) ? null : r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1),
            r.GetString(2), r.GetFieldValue<DateTimeOffset>(3)), cancellationToken);
        var notifications = await ListAsync(reader, r => new NotificationLine(r.GetString(0), r.GetString(1), r.GetString(2),
            r.GetFieldValue<DateTimeOffset>(3), r.IsDBNull(4) ? null : r.GetFieldValue<DateTimeOffset>(4)), cancellationToken);
        var fraud = await ListAsync(reader, r => new FraudLine(r.GetInt32(0), r.GetFieldValue<string[]>(1), r.GetFieldValue<DateTimeOffset>(2)),
            cancellationToken);
        var loyalty = await ListAsync(reader, r => new LoyaltyLine(r.GetString(0), r.GetInt64(1), r.GetFieldValue<DateTimeOffset>(2)), cancellationToken);
        var refunds = await ListAsync(reader, r => new RefundLine(r.GetGuid(0), r.GetInt64(1), r.GetString(2), r.GetString(3),
            r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5), r.GetFieldValue<DateTimeOffset>(6)), cancellationToken);
        return new PaymentDetails(payment, merchantId, psp, captureMethod, failure, description, updatedAt, transitions, transfers, webhooks,
            notifications, fraud, loyalty, refunds);
    }

    private static void Add(NpgsqlBatch batch, string sql, Guid paymentId)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddWithValue("id", paymentId);
        if (sql.Contains("@limit", StringComparison.Ordinal)) command.Parameters.AddWithValue("limit", MaxLines);
        batch.BatchCommands.Add(command);
    }

    private static async Task<List<T>> ListAsync<T>(NpgsqlDataReader reader, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        await reader.NextResultAsync(cancellationToken);
        var lines = new List<T>();
        while (await reader.ReadAsync(cancellationToken)) lines.Add(read(reader));
        return lines;
    }
}

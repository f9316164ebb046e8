using Npgsql;
using NpgsqlTypes;
using Payrail.Ledger;
using Payrail.Payments;

namespace Payrail.Webhooks;

/// <summary>What one delivery came to (the <c>outcome</c> column of migration 0013, plus the unstored duplicate).</summary>
public static class WebhookOutcome
{
    public const string Applied = "applied";
    public const string Stale = "stale";
    public const string Orphan = "orphan";
    public const string Ignored = "ignored";
    public const string Rejected = "rejected";
    /// <summary>Answered and counted, never stored: the event id is already recorded.</summary>
    public const string Duplicate = "duplicate";
}

/// <summary>One authentic delivery as it is recorded: the PSP's event and its raw body.</summary>
public sealed record ReceivedWebhook(string Psp, string? EventId, string? EventType, string Payload, DateTimeOffset ReceivedAt);

/// <summary>
/// Records a webhook event in the batch of the payment change it causes (or of the no-op against the payment as it
/// stands): the event id and the effect commit together or not at all. An id already recorded aborts the whole batch
/// (PR013, migration 0013), so a duplicate delivery changes nothing even when it raced the first one past every check.
/// The outcome is what the batch does: applied when it changes the payment, stale when it commits against it unchanged.
/// </summary>
public sealed class RecordWebhookEvent(ReceivedWebhook webhook, Guid paymentId, TimeProvider clock) : ITransitionCommand
{
    public void AddTo(NpgsqlBatch batch, PaymentRecord payment) => AddTo(batch, payment, null);

    public void AddTo(NpgsqlBatch batch, PaymentRecord payment, PaymentChange? change)
    {
        var insert = new NpgsqlBatchCommand($"""
            WITH recorded AS (
                {WebhookEvents.InsertSql}
                RETURNING 1
            )
            SELECT psp_webhook_event_require_new((SELECT count(*) FROM recorded))
            """);
        WebhookEvents.AddParameters(insert.Parameters, webhook, paymentId,
            change is null ? WebhookOutcome.Stale : WebhookOutcome.Applied, clock.GetUtcNow());
        batch.BatchCommands.Add(insert);
    }
}

/// <summary>The SQL of <c>psp_webhook_events</c> outside a payment's change: lookups and the events that move no payment.</summary>
public sealed class WebhookEvents(NpgsqlDataSource database, TimeProvider clock)
{
    internal const string InsertSql = """
        INSERT INTO psp_webhook_events (psp, event_id, event_type, payload, received_at, payment_id, outcome, processed_at)
        VALUES (@psp, @event_id, @event_type, @payload, @received_at, @payment_id, @outcome, @processed_at)
        ON CONFLICT (psp, event_id) DO NOTHING
        """;

    private const string ExistsSql = "SELECT EXISTS (SELECT 1 FROM psp_webhook_events WHERE psp = @psp AND event_id = @event_id)";

    /// <summary>Whether this event id is recorded already (a cheap early answer; the batch's PR013 decides races).</summary>
    public async Task<bool> ExistsAsync(string psp, string eventId)
    {
        await using var command = database.CreateCommand(ExistsSql);
        command.Parameters.AddWithValue("psp", psp);
        command.Parameters.AddWithValue("event_id", eventId);
        return (bool)(await command.ExecuteScalarAsync().ConfigureAwait(false))!;
    }

    /// <summary><see cref="ExistsAsync"/> as a statement of a batch (see <see cref="PaymentStore.FindWithAsync"/>).</summary>
    public static NpgsqlBatchCommand ExistsCommand(string psp, string eventId)
    {
        var command = new NpgsqlBatchCommand(ExistsSql);
        command.Parameters.AddWithValue("psp", psp);
        command.Parameters.AddWithValue("event_id", eventId);
        return command;
    }

    /// <summary>
    /// Records an event that moves no payment (orphan, ignored, rejected). False when its id was recorded first by
    /// another delivery: a duplicate, nothing written.
    /// </summary>
    public async Task<bool> RecordAsync(ReceivedWebhook webhook, Guid? paymentId, string outcome)
    {
        await using var command = database.CreateCommand(InsertSql);
        AddParameters(command.Parameters, webhook, paymentId, outcome, clock.GetUtcNow());
        return await command.ExecuteNonQueryAsync().ConfigureAwait(false) == 1;
    }

    internal static void AddParameters(NpgsqlParameterCollection p, ReceivedWebhook webhook, Guid? paymentId, string outcome, DateTimeOffset now)
    {
        p.AddWithValue("psp", webhook.Psp);
        p.Add(new NpgsqlParameter("event_id", NpgsqlDbType.Text) { Value = (object?)webhook.EventId ?? DBNull.Value });
        p.Add(new NpgsqlParameter("event_type", NpgsqlDbType.Text) { Value = (object?)webhook.EventType ?? DBNull.Value });
        p.AddWithValue("payload", webhook.Payload);
        p.AddWithValue("received_at", PaymentRecord.ToDatabasePrecision(webhook.ReceivedAt));
        p.Add(new NpgsqlParameter("payment_id", NpgsqlDbType.Uuid) { Value = (object?)paymentId ?? DBNull.Value });
        p.AddWithValue("outcome", outcome);
        p.AddWithValue("processed_at", PaymentRecord.ToDatabasePrecision(now));
    }

    public static bool IsDuplicate(PostgresException e) => e.SqlState == LedgerSqlState.WebhookEventAlreadyReceived;
}

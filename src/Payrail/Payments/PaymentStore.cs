using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Payrail.Domain.Payments;
using Payrail.Idempotency;
using Payrail.Ledger;
using Payrail.Outbox;

namespace Payrail.Payments;

/// <summary>
/// The SQL of the payment flow. Each method is one transaction with as few round trips as the
/// statement allows: transaction 1 is one statement, transaction 2 is one batch (one round trip, committed by the server).
/// </summary>
public sealed class PaymentStore(NpgsqlDataSource database, IOptions<IdempotencyOptions> idempotencyOptions,
    IOptions<PaymentsOptions> paymentsOptions, PaymentMetrics metrics, TimeProvider clock, ILogger<PaymentStore> logger)
{
    private readonly TimeSpan _keyRetention = idempotencyOptions.Value.Retention;
    private readonly PaymentsOptions _payments = paymentsOptions.Value;
    private readonly LedgerWrites _ledger = new();
    private const string PaymentColumns = """
        id, merchant_id, buyer_id, amount_minor, currency, status, capture_method, psp, psp_reference,
        amount_captured_minor, amount_refunded_minor, failure_code, failure_message, description, metadata::text,
        version, created_at, updated_at, next_action_url, amount_refund_pending_minor, refunded_from
        """;

    /// <summary>
    /// Transaction 1 (DESIGN.md step 4): claim the key and record the payment, its first transition
    /// and <c>payment.initiated</c> — all or nothing, in one statement. False when the key already exists
    /// (then nothing is written and the caller reads the existing key).
    /// </summary>
    public Task<bool> RecordIntentAsync(PaymentRecord payment, IdempotencyKey key, string fingerprint,
        DateTimeOffset leaseExpiresAt, DateTimeOffset keyExpiresAt, OutboxEvent initiated, string? paymentMethod = null) =>
        IdempotencyStore.ClaimAsync(database, key, fingerprint, IntentClaim(payment, initiated, paymentMethod), leaseExpiresAt, keyExpiresAt);

    /// <summary>
    /// What transaction 1 writes beside the key's claim, in the claim's statement and only when the claim succeeded:
    /// the payment (its id is the key's <c>payment_id</c>), its first transition and <c>payment.initiated</c>. The
    /// payment method is kept so the sweeper can resume the create with the same parameters (migration 0014).
    /// </summary>
    public static IdempotencyClaim IntentClaim(PaymentRecord payment, OutboxEvent initiated, string? paymentMethod = null) => new(payment.Id, payment.CreatedAt, $"""
        , payment AS (
            INSERT INTO payments (id, merchant_id, buyer_id, amount_minor, currency, status, capture_method,
                                  description, metadata, version, created_at, updated_at, payment_method)
            SELECT payment_id, @merchant_id, @buyer_id, @amount_minor, @currency, 'initiated', @capture_method,
                   @description, @metadata::jsonb, 1, @now, @now, @payment_method
            FROM claim
            RETURNING id
        ), transition AS (
            INSERT INTO payment_transitions (payment_id, from_status, to_status, cause, at)
            SELECT id, NULL, 'initiated', 'created', @now FROM payment
        ), {OutboxWrites.InsertCte("event", "payment")}
        """, p =>
        {
            p.AddWithValue("merchant_id", payment.MerchantId);
            p.AddWithValue("buyer_id", payment.BuyerId);
            p.AddWithValue("amount_minor", payment.AmountMinor);
            p.AddWithValue("currency", payment.CurrencyCode);
            p.AddWithValue("capture_method", payment.CaptureWire);
            p.AddWithValue("description", (object?)payment.Description ?? DBNull.Value);
            p.AddWithValue("metadata", payment.MetadataJson());
            p.Add(new NpgsqlParameter("payment_method", NpgsqlDbType.Text) { Value = (object?)paymentMethod ?? DBNull.Value });
            OutboxWrites.AddCteParameters(p, initiated);
        });

    public async Task<PaymentRecord?> FindAsync(Guid id)
    {
        await using var command = database.CreateCommand($"SELECT {PaymentColumns} FROM payments WHERE id = @id");
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        return await reader.ReadAsync().ConfigureAwait(false) ? ReadPayment(reader) : null;
    }

    /// <summary>
    /// <paramref name="check"/> (a statement answering one boolean) and the payment, in one round trip: a webhook asks
    /// whether its event id is recorded and reads the payment its metadata names at once (a round trip less per webhook).
    /// </summary>
    public async Task<(bool Check, PaymentRecord? Payment)> FindWithAsync(NpgsqlBatchCommand check, Guid id)
    {
        await using var connection = await database.OpenConnectionAsync().ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(check);
        var find = new NpgsqlBatchCommand($"SELECT {PaymentColumns} FROM payments WHERE id = @id");
        find.Parameters.AddWithValue("id", id);
        batch.BatchCommands.Add(find);
        await using var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false);
        var checkedTrue = await reader.ReadAsync().ConfigureAwait(false) && reader.GetBoolean(0);
        await reader.NextResultAsync().ConfigureAwait(false);
        return (checkedTrue, await reader.ReadAsync().ConfigureAwait(false) ? ReadPayment(reader) : null);
    }

    /// <summary>The payment a PSP object belongs to, by the reference recorded for it (unique per PSP, migration 0002).</summary>
    public async Task<PaymentRecord?> FindByPspReferenceAsync(string psp, string pspReference)
    {
        await using var command = database.CreateCommand($"SELECT {PaymentColumns} FROM payments WHERE psp = @psp AND psp_reference = @reference");
        command.Parameters.AddWithValue("psp", psp);
        command.Parameters.AddWithValue("reference", pspReference);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        return await reader.ReadAsync().ConfigureAwait(false) ? ReadPayment(reader) : null;
    }

    /// <summary>The payments of several PSP references in one statement (settlement's lookup batch), by reference.</summary>
    public async Task<Dictionary<string, PaymentRecord>> FindByPspReferencesAsync(string psp, IReadOnlyList<string> pspReferences)
    {
        await using var command = database.CreateCommand($"SELECT {PaymentColumns} FROM payments WHERE psp = @psp AND psp_reference = ANY(@references)");
        command.Parameters.AddWithValue("psp", psp);
        command.Parameters.Add(new NpgsqlParameter("references", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = pspReferences.ToArray() });
        var found = new Dictionary<string, PaymentRecord>(pspReferences.Count, StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            var payment = ReadPayment(reader);
            found[payment.PspReference!] = payment;
        }
        return found;
    }

    /// <summary>A merchant's payments, newest first, strictly after the cursor payment (keyset pagination).</summary>
    public async Task<IReadOnlyList<PaymentRecord>> ListByMerchantAsync(string merchantId, int limit, Guid? startingAfter)
    {
        var sql = startingAfter is null
            ? $"""
               SELECT {PaymentColumns} FROM payments WHERE merchant_id = @merchant_id
               ORDER BY created_at DESC, id DESC LIMIT @limit
               """
            : $"""
               SELECT {PaymentColumns} FROM payments p WHERE merchant_id = @merchant_id
                 AND (created_at, id) < (SELECT c.created_at, c.id FROM payments c WHERE c.id = @after AND c.merchant_id = @merchant_id)
               ORDER BY created_at DESC, id DESC LIMIT @limit
               """;
        await using var command = database.CreateCommand(sql);
        command.Parameters.AddWithValue("merchant_id", merchantId);
        command.Parameters.AddWithValue("limit", limit);
        if (startingAfter is { } after) command.Parameters.AddWithValue("after", after);
        var payments = new List<PaymentRecord>(limit);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false)) payments.Add(ReadPayment(reader));
        return payments;
    }

    /// <summary>
    /// Transaction 2 (DESIGN.md step 6), one batch: the conditional update on the row's version, then
    /// every intermediate transition, the outbox events, the commands that must commit with the change (e.g. the
    /// completed idempotency response) and the ledger transfers (accounts created on first use, balances applied by
    /// the database trigger). False when the version moved (someone else changed the payment first): nothing is
    /// written and the caller re-reads and re-decides. A batch that PostgreSQL rolled back for a deadlock or a
    /// serialization failure is sent again, at most <see cref="PaymentsOptions.MaxTransientRetries"/> times: the PSP
    /// has usually charged by now, and a 500 would leave the buyer waiting out the lease.
    /// </summary>
    public Task<bool> ApplyAsync(PaymentChange change, IReadOnlyList<ITransitionCommand> with) => WriteAsync(change.Before, change, with);

    /// <summary>
    /// The commands alone, for a payment that needs no change: they commit only while the payment still has the
    /// version they were decided on (else false, nothing written), with the same transient retries.
    /// </summary>
    public Task<bool> RecordUnchangedAsync(PaymentRecord current, IReadOnlyList<ITransitionCommand> with) => WriteAsync(current, null, with);

    /// <summary>Transaction 2 completing <paramref name="key"/> with a fixed response (when both are given).</summary>
    public Task<bool> ApplyAsync(PaymentChange change, IdempotencyKey? key, int responseStatus, string? responseBody) =>
        ApplyAsync(change, key is null || responseBody is null ? [] :
            [new CompleteIdempotencyKey(key, _ => new IdempotentAnswer(responseStatus, responseBody, Final: true), clock.GetUtcNow() + _keyRetention)]);

    private async Task<bool> WriteAsync(PaymentRecord before, PaymentChange? change, IReadOnlyList<ITransitionCommand> with)
    {
        for (var retry = 0; ; retry++)
        {
            try
            {
                return await WriteOnceAsync(before, change, with).ConfigureAwait(false);
            }
            // Safe to send again: nothing of the batch committed, and a version moved meanwhile is caught by its guard.
            catch (PostgresException e) when (IsTransient(e) && retry < _payments.MaxTransientRetries)
            {
                metrics.TransientRetry(e.SqlState);
                logger.LogWarning("Transaction 2 of payment {PaymentId} was rolled back ({SqlState}); retry {Retry} of {MaxTransientRetries}",
                    before.Id, e.SqlState, retry + 1, _payments.MaxTransientRetries);
                await Task.Delay(TransientBackoff(retry), clock).ConfigureAwait(false);
            }
        }
    }

    private static bool IsTransient(PostgresException e) =>
        e.SqlState is LedgerSqlState.SerializationFailure or LedgerSqlState.DeadlockDetected;

    private TimeSpan TransientBackoff(int retry) =>
        TimeSpan.FromMilliseconds(_payments.TransientRetryBackoffMs * (1 << retry) + Random.Shared.Next(_payments.TransientRetryBackoffMs + 1));

    private async Task<bool> WriteOnceAsync(PaymentRecord before, PaymentChange? change, IReadOnlyList<ITransitionCommand> with)
    {
        // One batch, no explicit transaction: PostgreSQL runs it as one implicit transaction and commits at its
        // end, so the account rows locked by the transfer trigger are held across the commit only, never across
        // a round trip back to this process (which, under load, waits for a thread-pool turn).
        await using var connection = await database.OpenConnectionAsync().ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        var lookUpAccounts = AddWrite(batch, before, change, with);
        return await ExecuteAsync(batch, lookUpAccounts).ConfigureAwait(false);
    }

    /// <summary>
    /// Several payments' changes in one batch, i.e. one transaction (settlement writes a run's payments this way: one
    /// commit per batch instead of one per payment). Each is the same version-checked write as <see cref="ApplyAsync(PaymentChange, IReadOnlyList{ITransitionCommand})"/>;
    /// all commit or none: false when any version moved (nothing written; the caller re-reads and writes them one by one).
    /// No transient retries here: the caller's one-by-one path has them.
    /// </summary>
    public async Task<bool> ApplyAllAsync(IReadOnlyList<(PaymentChange Change, IReadOnlyList<ITransitionCommand> With)> changes)
    {
        await using var connection = await database.OpenConnectionAsync().ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        var lookUpAccounts = false;
        foreach (var (change, with) in changes) lookUpAccounts |= AddWrite(batch, change.Before, change, with);
        return await ExecuteAsync(batch, lookUpAccounts).ConfigureAwait(false);
    }

    /// <summary>One payment's write: the version guard, its transitions and events, the commands, its ledger transfers last.</summary>
    private bool AddWrite(NpgsqlBatch batch, PaymentRecord before, PaymentChange? change, IReadOnlyList<ITransitionCommand> with)
    {
        var after = change?.After ?? before;
        batch.BatchCommands.Add(change is null ? VersionStillCurrent(before) : ConditionalUpdate(change));
        if (change is not null)
        {
            AddTransitions(batch, change);
            if (OutboxWrites.Insert(after.Id, change.Events) is { } events) batch.BatchCommands.Add(events);
        }
        foreach (var command in with) command.AddTo(batch, after, change);
        // Last on purpose (see LedgerWrites.AddTo): the merchant's account row is locked just before COMMIT.
        return change is not null && _ledger.AddTo(batch, after.Id, change.JournalEntries);
    }

    private async Task<bool> ExecuteAsync(NpgsqlBatch batch, bool lookUpAccounts)
    {
        List<((string Owner, string Currency) Account, long Id)> learned = [];
        try
        {
            if (lookUpAccounts)
            {
                await using var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false);
                learned = await LedgerWrites.ReadAccountIdsAsync(reader).ConfigureAwait(false);
            }
            else
            {
                // Returns after the server's ReadyForQuery, i.e. after the implicit transaction committed.
                await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
        }
        catch (PostgresException e) when (e.SqlState == VersionMovedSqlState)
        {
            return false; // the guard aborted the batch: nothing was written
        }
        _ledger.Remember(learned);
        return true;
    }

    /// <summary>
    /// The guard of a batch that changes no payment: the row still has the version the commands were decided on. FOR SHARE
    /// holds that version until COMMIT (a concurrent change waits, or has committed and the row no longer matches).
    /// </summary>
    private static NpgsqlBatchCommand VersionStillCurrent(PaymentRecord current)
    {
        var check = new NpgsqlBatchCommand("""
            SELECT payment_require_changed((SELECT count(*) FROM (
                SELECT 1 FROM payments WHERE id = @id AND version = @version FOR SHARE) AS still_current))
            """);
        check.Parameters.AddWithValue("id", current.Id);
        check.Parameters.AddWithValue("version", current.Version);
        return check;
    }

    /// <summary>SQLSTATE of the guard in Database/Migrations/0006_payment_change_guard.sql.</summary>
    private const string VersionMovedSqlState = "PR007";

    /// <summary>The version-checked UPDATE; when it changes no row the guard raises and the whole batch rolls back.</summary>
    private static NpgsqlBatchCommand ConditionalUpdate(PaymentChange change)
    {
        var update = new NpgsqlBatchCommand("""
            WITH changed AS (
                UPDATE payments SET status = @status, version = version + 1, psp = @psp, psp_reference = @psp_reference,
                       amount_captured_minor = @amount_captured_minor, failure_code = @failure_code,
                       failure_message = @failure_message, updated_at = @now, next_action_url = @next_action_url,
                       amount_refunded_minor = @amount_refunded_minor, amount_refund_pending_minor = @amount_refund_pending_minor,
                       refunded_from = @refunded_from
                WHERE id = @id AND version = @version
                RETURNING id
            )
            SELECT payment_require_changed((SELECT count(*) FROM changed))
            """);
        var after = change.After;
        var p = update.Parameters;
        p.AddWithValue("status", after.Status.ToWire());
        p.Add(new NpgsqlParameter("psp", NpgsqlDbType.Text) { Value = (object?)after.Psp ?? DBNull.Value });
        p.Add(new NpgsqlParameter("psp_reference", NpgsqlDbType.Text) { Value = (object?)after.PspReference ?? DBNull.Value });
        p.AddWithValue("amount_captured_minor", after.AmountCapturedMinor);
        p.Add(new NpgsqlParameter("failure_code", NpgsqlDbType.Text) { Value = (object?)after.FailureCode ?? DBNull.Value });
        p.Add(new NpgsqlParameter("failure_message", NpgsqlDbType.Text) { Value = (object?)after.FailureMessage ?? DBNull.Value });
        p.Add(new NpgsqlParameter("next_action_url", NpgsqlDbType.Text) { Value = (object?)after.NextActionUrl ?? DBNull.Value });
        p.AddWithValue("amount_refunded_minor", after.AmountRefundedMinor);
        p.AddWithValue("amount_refund_pending_minor", after.AmountRefundPendingMinor);
        p.Add(new NpgsqlParameter("refunded_from", NpgsqlDbType.Text) { Value = (object?)after.RefundedFrom?.ToWire() ?? DBNull.Value });
        p.AddWithValue("now", after.UpdatedAt);
        p.AddWithValue("id", after.Id);
        p.AddWithValue("version", change.Before.Version);
        return update;
    }

    private static void AddTransitions(NpgsqlBatch batch, PaymentChange change)
    {
        var command = new NpgsqlBatchCommand("""
            INSERT INTO payment_transitions (payment_id, from_status, to_status, cause, at)
            SELECT @payment_id, step.from_status, step.to_status, @cause, @at
            FROM unnest(@from_statuses, @to_statuses) WITH ORDINALITY AS step(from_status, to_status, n)
            ORDER BY step.n
            """);
        command.Parameters.AddWithValue("payment_id", change.After.Id);
        command.Parameters.AddWithValue("cause", change.Cause);
        command.Parameters.AddWithValue("at", change.After.UpdatedAt);
        command.Parameters.Add(new NpgsqlParameter("from_statuses", NpgsqlDbType.Array | NpgsqlDbType.Text)
            { Value = change.Steps.Select(s => s.From.ToWire()).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("to_statuses", NpgsqlDbType.Array | NpgsqlDbType.Text)
            { Value = change.Steps.Select(s => s.To.ToWire()).ToArray() });
        batch.BatchCommands.Add(command);
    }

    private static PaymentStatus RefundedFromWire(string wire) =>
        PaymentStatusWire.TryParseWire(wire, out var status) ? status : throw new InvalidOperationException("a payment has an unknown refunded_from");

    private static PaymentRecord ReadPayment(NpgsqlDataReader reader)
    {
        if (!PaymentStatusWire.TryParseWire(reader.GetString(5), out var status))
            throw new InvalidOperationException($"payment {reader.GetGuid(0)} has an unknown status");
        return new PaymentRecord(
            Id: reader.GetGuid(0),
            MerchantId: reader.GetString(1),
            BuyerId: reader.GetString(2),
            AmountMinor: reader.GetInt64(3),
            CurrencyCode: reader.GetString(4),
            Status: status,
            Capture: reader.GetString(6) == "manual" ? CaptureMethod.Manual : CaptureMethod.Automatic,
            Psp: reader.IsDBNull(7) ? null : reader.GetString(7),
            PspReference: reader.IsDBNull(8) ? null : reader.GetString(8),
            AmountCapturedMinor: reader.GetInt64(9),
            AmountRefundedMinor: reader.GetInt64(10),
            FailureCode: reader.IsDBNull(11) ? null : reader.GetString(11),
            FailureMessage: reader.IsDBNull(12) ? null : reader.GetString(12),
            Description: reader.IsDBNull(13) ? null : reader.GetString(13),
            Metadata: PaymentRecord.ParseMetadata(reader.GetString(14)),
            Version: reader.GetInt32(15),
            CreatedAt: reader.GetFieldValue<DateTimeOffset>(16),
            UpdatedAt: reader.GetFieldValue<DateTimeOffset>(17))
        {
            NextActionUrl = reader.IsDBNull(18) ? null : reader.GetString(18),
            AmountRefundPendingMinor = reader.GetInt64(19),
            RefundedFrom = reader.IsDBNull(20) ? null : RefundedFromWire(reader.GetString(20)),
        };
    }
}

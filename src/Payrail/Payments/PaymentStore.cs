using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Payrail.Domain.Ledger;
using Payrail.Domain.Payments;
using Payrail.Idempotency;
using Payrail.Ledger;

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
    private const int MaxKnownAccounts = 100_000;

    // Ledger accounts are never deleted and their ids never change: once seen, a payment neither creates nor
    // looks them up again, which spares the hot merchant account row four index lookups per payment.
    private readonly ConcurrentDictionary<(string Owner, string Currency), long> _accountIds = new();
    private const string PaymentColumns = """
        id, merchant_id, buyer_id, amount_minor, currency, status, capture_method, psp, psp_reference,
        amount_captured_minor, amount_refunded_minor, failure_code, failure_message, description, metadata::text,
        version, created_at, updated_at
        """;

    /// <summary>
    /// Transaction 1 (DESIGN.md step 4): claim the key and record the payment, its first transition
    /// and <c>payment.initiated</c> — all or nothing, in one statement. False when the key already exists
    /// (then nothing is written and the caller reads the existing key).
    /// </summary>
    public async Task<bool> RecordIntentAsync(PaymentRecord payment, IdempotencyKey key, string fingerprint,
        DateTimeOffset leaseExpiresAt, DateTimeOffset keyExpiresAt, OutboxEvent initiated)
    {
        const string sql = """
            WITH claim AS (
                INSERT INTO idempotency_keys (scope, key, request_fingerprint, payment_id, status, lease_expires_at, created_at, expires_at)
                VALUES (@scope, @key, @fingerprint, @id, 'processing', @lease_expires_at, @now, @key_expires_at)
                ON CONFLICT (scope, key) DO NOTHING
                RETURNING payment_id
            ), payment AS (
                INSERT INTO payments (id, merchant_id, buyer_id, amount_minor, currency, status, capture_method,
                                      description, metadata, version, created_at, updated_at)
                SELECT payment_id, @merchant_id, @buyer_id, @amount_minor, @currency, 'initiated', @capture_method,
                       @description, @metadata::jsonb, 1, @now, @now
                FROM claim
                RETURNING id
            ), transition AS (
                INSERT INTO payment_transitions (payment_id, from_status, to_status, cause, at)
                SELECT id, NULL, 'initiated', 'created', @now FROM payment
            ), event AS (
                INSERT INTO outbox (id, aggregate_id, event_type, payload, occurred_at)
                SELECT @event_id, id, @event_type, @payload::jsonb, @now FROM payment
            )
            SELECT count(*) FROM claim
            """;
        await using var command = database.CreateCommand(sql);
        var p = command.Parameters;
        p.AddWithValue("scope", key.Scope);
        p.AddWithValue("key", key.Key);
        p.AddWithValue("fingerprint", fingerprint);
        p.AddWithValue("id", payment.Id);
        p.AddWithValue("lease_expires_at", leaseExpiresAt);
        p.AddWithValue("now", payment.CreatedAt);
        p.AddWithValue("key_expires_at", keyExpiresAt);
        p.AddWithValue("merchant_id", payment.MerchantId);
        p.AddWithValue("buyer_id", payment.BuyerId);
        p.AddWithValue("amount_minor", payment.AmountMinor);
        p.AddWithValue("currency", payment.CurrencyCode);
        p.AddWithValue("capture_method", payment.CaptureWire);
        p.AddWithValue("description", (object?)payment.Description ?? DBNull.Value);
        p.AddWithValue("metadata", payment.MetadataJson());
        p.AddWithValue("event_id", initiated.Id);
        p.AddWithValue("event_type", initiated.Type);
        p.AddWithValue("payload", initiated.PayloadJson);
        var claimed = (long)(await command.ExecuteScalarAsync().ConfigureAwait(false))!;
        return claimed == 1;
    }

    public async Task<PaymentRecord?> FindAsync(Guid id)
    {
        await using var command = database.CreateCommand($"SELECT {PaymentColumns} FROM payments WHERE id = @id");
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        return await reader.ReadAsync().ConfigureAwait(false) ? ReadPayment(reader) : null;
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
    /// every intermediate transition, the ledger transfers (accounts created on first use,
    /// balances applied by the database trigger), the outbox events and — when given — the
    /// completed idempotency response. False when the version moved (someone else changed the
    /// payment first): nothing is written and the caller re-reads and re-decides. A batch that PostgreSQL rolled back
    /// for a deadlock or a serialization failure is sent again, at most <see cref="PaymentsOptions.MaxTransientRetries"/>
    /// times: the PSP has usually charged by now, and a 500 would leave the buyer waiting out the lease.
    /// </summary>
    public async Task<bool> ApplyAsync(PaymentChange change, IdempotencyKey? key, int responseStatus, string? responseBody)
    {
        for (var retry = 0; ; retry++)
        {
            try
            {
                return await ApplyOnceAsync(change, key, responseStatus, responseBody).ConfigureAwait(false);
            }
            // Safe to send again: nothing of the batch committed, and a version moved meanwhile is caught by its guard.
            catch (PostgresException e) when (IsTransient(e) && retry < _payments.MaxTransientRetries)
            {
                metrics.TransientRetry(e.SqlState);
                logger.LogWarning("Transaction 2 of payment {PaymentId} was rolled back ({SqlState}); retry {Retry} of {MaxTransientRetries}",
                    change.After.Id, e.SqlState, retry + 1, _payments.MaxTransientRetries);
                await Task.Delay(TransientBackoff(retry), clock).ConfigureAwait(false);
            }
        }
    }

    private static bool IsTransient(PostgresException e) =>
        e.SqlState is LedgerSqlState.SerializationFailure or LedgerSqlState.DeadlockDetected;

    private TimeSpan TransientBackoff(int retry) =>
        TimeSpan.FromMilliseconds(_payments.TransientRetryBackoffMs * (1 << retry) + Random.Shared.Next(_payments.TransientRetryBackoffMs + 1));

    private async Task<bool> ApplyOnceAsync(PaymentChange change, IdempotencyKey? key, int responseStatus, string? responseBody)
    {
        // One batch, no explicit transaction: PostgreSQL runs it as one implicit transaction and commits at its
        // end, so the account rows locked by the transfer trigger are held across the commit only, never across
        // a round trip back to this process (which, under load, waits for a thread-pool turn).
        await using var connection = await database.OpenConnectionAsync().ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(ConditionalUpdate(change));
        AddTransitions(batch, change);
        AddOutbox(batch, change.After.Id, change.Events);
        if (key is not null && responseBody is not null)
        {
            var complete = new NpgsqlBatchCommand(IdempotencyStore.CompleteKeySql);
            IdempotencyStore.AddCompleteKeyParameters(complete.Parameters, key, responseStatus, responseBody, clock.GetUtcNow() + _keyRetention);
            batch.BatchCommands.Add(complete);
        }
        // Last on purpose: the transfer trigger locks the merchant's account row, which every payment to that
        // merchant needs; taking it just before COMMIT keeps the time others wait on it short.
        var accounts = AccountsOf(change);
        var knownIds = KnownAccountIds(accounts);
        AddJournalEntries(batch, change, accounts, knownIds);
        var learned = new List<((string Owner, string Currency) Account, long Id)>();
        try
        {
            if (accounts.Count > 0 && knownIds is null)
            {
                batch.BatchCommands.Add(SelectAccountIds(accounts));
                await using var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false);
                do
                {
                    if (reader.FieldCount != 3) continue;
                    while (await reader.ReadAsync().ConfigureAwait(false))
                        learned.Add(((reader.GetString(1), reader.GetString(2)), reader.GetInt64(0)));
                }
                while (await reader.NextResultAsync().ConfigureAwait(false));
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
        foreach (var (account, id) in learned)
        {
            if (_accountIds.Count < MaxKnownAccounts) _accountIds.TryAdd(account, id);
        }
        return true;
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
                       failure_message = @failure_message, updated_at = @now
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

    /// <summary>The (owner, currency) accounts a change posts to, in a fixed order so concurrent first uses cannot deadlock.</summary>
    private static List<(string Owner, string Currency)> AccountsOf(PaymentChange change) =>
        change.JournalEntries.SelectMany(e => e)
            .SelectMany(d => new[] { (d.DebitOwner, d.Currency.Code), (d.CreditOwner, d.Currency.Code) })
            .Distinct().OrderBy(o => o.Item1, StringComparer.Ordinal).ThenBy(o => o.Item2, StringComparer.Ordinal).ToList();

    /// <summary>Ids of every account when all are known, else null (then they are created if missing and looked up).</summary>
    private Dictionary<(string Owner, string Currency), long>? KnownAccountIds(List<(string Owner, string Currency)> accounts)
    {
        var ids = new Dictionary<(string Owner, string Currency), long>(accounts.Count);
        foreach (var account in accounts)
        {
            if (!_accountIds.TryGetValue(account, out var id)) return null;
            ids[account] = id;
        }
        return ids;
    }

    private static void AddJournalEntries(NpgsqlBatch batch, PaymentChange change, List<(string Owner, string Currency)> accounts,
        Dictionary<(string Owner, string Currency), long>? knownIds)
    {
        if (accounts.Count == 0) return;
        if (knownIds is null)
        {
            var ensure = new NpgsqlBatchCommand("""
                INSERT INTO ledger_accounts (owner, currency, flags)
                SELECT account.owner, account.currency, account.flags
                FROM unnest(@owners, @currencies, @flags) WITH ORDINALITY AS account(owner, currency, flags, n)
                ORDER BY account.n
                ON CONFLICT (owner, currency) DO NOTHING
                """);
            ensure.Parameters.Add(new NpgsqlParameter("owners", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = accounts.Select(o => o.Owner).ToArray() });
            ensure.Parameters.Add(new NpgsqlParameter("currencies", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = accounts.Select(o => o.Currency).ToArray() });
            ensure.Parameters.Add(new NpgsqlParameter("flags", NpgsqlDbType.Array | NpgsqlDbType.Integer)
                { Value = accounts.Select(o => (int)LedgerAccounts.FlagsFor(o.Owner)).ToArray() });
            batch.BatchCommands.Add(ensure);
        }

        foreach (var entry in change.JournalEntries)
        {
            // One journal entry per operation; its first transfer's deterministic id names it.
            var journalEntryId = entry[0].Id;
            foreach (var draft in entry)
            {
                // No ON CONFLICT: a resumed flow re-posting the same deterministic id with the same fields is skipped by
                // the database (0011), one with other fields aborts the batch (PR010); a concurrent insert of the same
                // id then fails on the primary key instead of being skipped unseen.
                var insert = new NpgsqlBatchCommand(knownIds is null
                    ? """
                      INSERT INTO ledger_transfers (id, journal_entry_id, debit_account_id, credit_account_id, amount_minor,
                                                    currency, kind, pending_id, payment_id)
                      SELECT @id, @journal_entry_id, debit.id, credit.id, @amount_minor, @currency, @kind, @pending_id, @payment_id
                      FROM ledger_accounts debit, ledger_accounts credit
                      WHERE debit.owner = @debit_owner AND debit.currency = @currency
                        AND credit.owner = @credit_owner AND credit.currency = @currency
                      """
                    : """
                      INSERT INTO ledger_transfers (id, journal_entry_id, debit_account_id, credit_account_id, amount_minor,
                                                    currency, kind, pending_id, payment_id)
                      VALUES (@id, @journal_entry_id, @debit_account_id, @credit_account_id, @amount_minor, @currency, @kind, @pending_id, @payment_id)
                      """);
                var p = insert.Parameters;
                p.AddWithValue("id", draft.Id);
                p.AddWithValue("journal_entry_id", journalEntryId);
                p.AddWithValue("amount_minor", draft.AmountMinor);
                p.AddWithValue("currency", draft.Currency.Code);
                p.AddWithValue("kind", KindWire(draft.Kind));
                p.Add(new NpgsqlParameter("pending_id", NpgsqlDbType.Uuid) { Value = (object?)draft.PendingId ?? DBNull.Value });
                p.AddWithValue("payment_id", change.After.Id);
                if (knownIds is null)
                {
                    p.AddWithValue("debit_owner", draft.DebitOwner);
                    p.AddWithValue("credit_owner", draft.CreditOwner);
                }
                else
                {
                    p.AddWithValue("debit_account_id", knownIds[(draft.DebitOwner, draft.Currency.Code)]);
                    p.AddWithValue("credit_account_id", knownIds[(draft.CreditOwner, draft.Currency.Code)]);
                }
                batch.BatchCommands.Add(insert);
            }
        }
    }

    private static NpgsqlBatchCommand SelectAccountIds(List<(string Owner, string Currency)> accounts)
    {
        var select = new NpgsqlBatchCommand("""
            SELECT id, owner, currency::text FROM ledger_accounts
            WHERE (owner, currency) IN (SELECT * FROM unnest(@owners, @currencies::bpchar[]))
            """);
        select.Parameters.Add(new NpgsqlParameter("owners", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = accounts.Select(o => o.Owner).ToArray() });
        select.Parameters.Add(new NpgsqlParameter("currencies", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = accounts.Select(o => o.Currency).ToArray() });
        return select;
    }

    private static void AddOutbox(NpgsqlBatch batch, Guid paymentId, IReadOnlyList<OutboxEvent> events)
    {
        if (events.Count == 0) return;
        var command = new NpgsqlBatchCommand("""
            INSERT INTO outbox (id, aggregate_id, event_type, payload, occurred_at)
            SELECT event.id, @aggregate_id, event.type, event.payload::jsonb, event.occurred_at
            FROM unnest(@ids, @types, @payloads, @occurred_ats) WITH ORDINALITY AS event(id, type, payload, occurred_at, n)
            ORDER BY event.n
            """);
        command.Parameters.AddWithValue("aggregate_id", paymentId);
        command.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = events.Select(e => e.Id).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("types", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.Type).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("payloads", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.PayloadJson).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("occurred_ats", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz)
            { Value = events.Select(e => e.OccurredAt).ToArray() });
        batch.BatchCommands.Add(command);
    }

    private static string KindWire(TransferKind kind) => kind switch
    {
        TransferKind.Posted => "posted",
        TransferKind.Pending => "pending",
        TransferKind.PostPending => "post_pending",
        TransferKind.VoidPending => "void_pending",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown transfer kind"),
    };

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
            UpdatedAt: reader.GetFieldValue<DateTimeOffset>(17));
    }
}

using System.Runtime.CompilerServices;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Payrail.Reconciliation;

/// <summary>Two runs of one window at once: the second refuses (it would interleave with the first).</summary>
public sealed class ReconciliationRunInProgressException(ReconciliationWindow window)
    : Exception($"another reconciliation of {window} is running; try again when it has finished");

/// <summary>A PSP line reconciliation cannot read: the whole run fails, nothing is archived, nothing replayed.</summary>
public sealed class MalformedPspReportException(string message) : Exception(message);

/// <summary>
/// Reconciliation's SQL (cold path, explicit Npgsql). A run works on one session of its own (<see cref="RunSession"/>):
/// the session holds the window's advisory lock and a temporary table with the PSP's lines, and streams the merge.
/// </summary>
public sealed class ReconciliationStore(NpgsqlDataSource database)
{
    /// <summary>The run's session: the window locked (refused when another session holds it) and the run recorded as running.</summary>
    public async Task<RunSession> BeginAsync(string psp, ReconciliationWindow window, string trigger, bool dryRun, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var connection = await database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using (var lockCommand = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtextextended(@key, 13))", connection))
            {
                lockCommand.Parameters.AddWithValue("key", RunSession.LockKey(psp, window));
                if (!(bool)(await lockCommand.ExecuteScalarAsync(cancellationToken))!) throw new ReconciliationRunInProgressException(window);
            }
            await using var insert = new NpgsqlCommand("""
                INSERT INTO reconciliation_runs (psp, window_from, window_to, trigger, dry_run, status, started_at)
                VALUES (@psp, @from, @to, @trigger, @dry_run, 'running', @now) RETURNING id
                """, connection);
            insert.Parameters.AddWithValue("psp", psp);
            insert.Parameters.AddWithValue("from", window.From);
            insert.Parameters.AddWithValue("to", window.To);
            insert.Parameters.AddWithValue("trigger", trigger);
            insert.Parameters.AddWithValue("dry_run", dryRun);
            insert.Parameters.AddWithValue("now", now);
            var id = (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
            return new RunSession(id, psp, window, connection);
        }
        catch
        {
            await connection.DisposeAsync(); // ends the session: its advisory lock goes with it
            throw;
        }
    }

    /// <summary>Claims the one replay a key ever gets; false when a run claimed it before.</summary>
    public async Task<bool> ClaimReplayAsync(string psp, string key, long runId, Guid paymentId, Guid? refundId, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO reconciliation_replays (psp, match_key, run_id, payment_id, refund_id, claimed_at)
            VALUES (@psp, @key, @run_id, @payment_id, @refund_id, @now) ON CONFLICT DO NOTHING
            """);
        var p = command.Parameters;
        p.AddWithValue("psp", psp);
        p.AddWithValue("key", key);
        p.AddWithValue("run_id", runId);
        p.AddWithValue("payment_id", paymentId);
        p.Add(new NpgsqlParameter("refund_id", NpgsqlDbType.Uuid) { Value = (object?)refundId ?? DBNull.Value });
        p.AddWithValue("now", now);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// The alert of one break, once per (key, bucket) ever: the alert row and its outbox event in one statement, so a
    /// re-run finds the row and writes no second event. True when this call raised it.
    /// </summary>
    public async Task<bool> RaiseAlertAsync(string psp, LineVerdict verdict, long runId, Outbox.OutboxEvent alert, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            WITH raised AS (
                INSERT INTO reconciliation_alerts (psp, match_key, bucket, run_id, event_id, raised_at)
                VALUES (@psp, @key, @bucket, @run_id, @event_id, @event_occurred_at) ON CONFLICT DO NOTHING
                RETURNING event_id
            )
            INSERT INTO outbox (id, aggregate_id, event_type, payload, occurred_at)
            SELECT event_id, @aggregate_id, @event_type, @event_payload::jsonb, @event_occurred_at FROM raised
            """);
        var p = command.Parameters;
        p.AddWithValue("psp", psp);
        p.AddWithValue("key", verdict.Key);
        p.AddWithValue("bucket", verdict.Bucket);
        p.AddWithValue("run_id", runId);
        p.AddWithValue("aggregate_id", alert.PaymentId);
        Outbox.OutboxWrites.AddCteParameters(p, alert);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>A failed run: its status and why (no items, no hash). Best effort: the run's own session may be what broke.</summary>
    public async Task FailAsync(long runId, string failure, DateTimeOffset now)
    {
        await using var command = database.CreateCommand("""
            UPDATE reconciliation_runs SET status = 'failed', finished_at = @now, failure = @failure WHERE id = @id AND status = 'running'
            """);
        command.Parameters.AddWithValue("id", runId);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("failure", failure.Length > 1_000 ? failure[..1_000] : failure);
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    /// <summary>The first <paramref name="limit"/> break items of a run, in merge order (what `payrail reconcile` prints).</summary>
    public async Task<IReadOnlyList<(string Bucket, string Key, string Reason)>> BreaksAsync(long runId, int limit, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT bucket, match_key, reason FROM reconciliation_items
            WHERE run_id = @run_id AND bucket NOT IN ('matched', 'expected', 'repaired') ORDER BY n LIMIT @limit
            """);
        command.Parameters.AddWithValue("run_id", runId);
        command.Parameters.AddWithValue("limit", limit);
        var rows = new List<(string, string, string)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        return rows;
    }

    /// <summary>Opens the items' writer: one transaction that copies every item and completes the run, or leaves nothing.</summary>
    public async Task<ItemsWriter> OpenItemsAsync(long runId, CancellationToken cancellationToken)
    {
        var connection = await database.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var copy = await connection.BeginRawBinaryCopyAsync($"""
                COPY reconciliation_items ({ItemsWriter.Columns}) FROM STDIN (FORMAT BINARY)
                """, cancellationToken);
            return new ItemsWriter(runId, connection, transaction, copy);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}

/// <summary>A run's own session: the window's advisory lock, the PSP's lines in a temporary table, the merged stream.</summary>
public sealed class RunSession(long id, string psp, ReconciliationWindow window, NpgsqlConnection connection) : IAsyncDisposable
{
    public long Id => id;

    internal static string LockKey(string psp, ReconciliationWindow window) => $"reconciliation|{psp}|{window.From.UtcTicks}|{window.To.UtcTicks}";

    /// <summary>
    /// Copies the PSP's lines into the session's temporary table as they stream in (<see cref="BinaryCopyRows"/>: constant memory); a
    /// charge's fee rides on its row (<see cref="StagedLine"/>). JIT off for the session: compiling the merge cost more
    /// than it saved (1.4 s of a million-line run, measured). The merge's sorts and hashes get 64 MB each in this session
    /// only (PostgreSQL's memory for the run stays bounded: a few nodes of 64 MB): `bench reconcile --lines 1000000` gave
    /// 40,373–42,141 lines/s at the server's 8 MB, 39,800–40,752 at 32 MB, 43,299–46,142 at 64 MB and 36,644–37,897 at
    /// 160 MB (a bigger sort budget sorted slower).
    /// </summary>
    public async Task<long> StageAsync(IAsyncEnumerable<StagedLine> lines, CancellationToken cancellationToken)
    {
        await using (var create = new NpgsqlCommand("""
            SET jit = off;
            SET work_mem = '64MB';
            DROP TABLE IF EXISTS recon_psp_lines;
            CREATE TEMP TABLE recon_psp_lines (
                match_key text NOT NULL, kind text NOT NULL, line_id text NOT NULL, reference text NOT NULL, amount_minor bigint NOT NULL,
                currency text NOT NULL, source_status text, net_minor bigint NOT NULL, created_at timestamptz NOT NULL,
                available_on timestamptz NOT NULL, fee_minor bigint NOT NULL, fee_currency text)
            """, connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
        long count = 0;
        var copy = await connection.BeginRawBinaryCopyAsync("""
            COPY recon_psp_lines (match_key, kind, line_id, reference, amount_minor, currency, source_status, net_minor, created_at, available_on,
                                  fee_minor, fee_currency)
            FROM STDIN (FORMAT BINARY)
            """, cancellationToken);
        var rows = new BinaryCopyRows(copy);
        try
        {
            await foreach (var staged in lines.WithCancellation(cancellationToken))
            {
                var line = staged.Line;
                rows.Row(12);
                rows.Text(line.Key);
                rows.Text(LineKinds.Wire(line.Kind));
                rows.Text(line.LineId);
                rows.Text(line.Reference);
                rows.Int64(line.AmountMinor);
                rows.Text(line.CurrencyCode);
                rows.Text(line.SourceStatus);
                rows.Int64(line.NetMinor);
                rows.TimestampTz(line.CreatedAt);
                rows.TimestampTz(line.AvailableOn);
                rows.Int64(staged.FeeMinor);
                rows.Text(staged.FeeCurrencyCode);
                count++;
                if (rows.ShouldSend) await rows.SendAsync(cancellationToken);
            }
            await rows.CompleteAsync(cancellationToken);
        }
        finally
        {
            await rows.CancelAsync(); // a failed read stages nothing (the run fails as a whole)
        }
        await using (var index = new NpgsqlCommand("CREATE INDEX ON recon_psp_lines (reference); ANALYZE recon_psp_lines", connection))
        {
            await index.ExecuteNonQueryAsync(cancellationToken);
        }
        return count;
    }

    /// <summary>
    /// Both sides in one stream ordered by key (bytewise), the PSP's lines of a key first, then Payrail's movement with
    /// that key. Payrail's side: every payment and refund a staged line names (whatever its state) and every capture and
    /// refund made in the window widened by <paramref name="skew"/>. PostgreSQL sorts with bounded memory (spilling to disk).
    /// A PSP charge line comes on one row with the payment it names (half the rows to sort and send: the merge's sort was
    /// most of its time, measured on `bench reconcile`); that payment is held until its key ends and comes out after the
    /// key's lines, once. A charge's row (either side) carries its fee: the fee lines are held until the key ends and come
    /// out after the key's lines and movement. "ref|fee" follows "ref|charge" bytewise with no key between them (a PSP id
    /// has no '|'), so the stream is in key order as if fees were rows of their own. What is held is one key's fee lines, as
    /// many as its charge lines: the caller refuses a key with more than MaxLinesPerKey lines before reading further.
    /// </summary>
    public async IAsyncEnumerable<MergedRow> MergedAsync(ReconciliationWindow window, TimeSpan skew, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(MergeSql, connection) { CommandTimeout = 0 };
        var p = command.Parameters;
        p.AddWithValue("psp", psp);
        p.AddWithValue("from", window.From - skew);
        p.AddWithValue("to", window.To + skew);
        p.AddWithValue("fees_owner", Domain.Ledger.LedgerAccountOwner.Fees(psp));
        p.AddWithValue("psp_owner", Domain.Ledger.LedgerAccountOwner.Psp(psp));
        p.AddWithValue("cash_owner", Domain.Ledger.LedgerAccountOwner.Cash(psp));
        await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, cancellationToken);
        var held = new HeldRows();
        string? key = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = Read(reader);
            if (row.Key != key)
            {
                foreach (var end in held.Flush()) yield return end;
                key = row.Key;
            }
            if (row.Line is { } line) yield return new MergedRow(line, null);
            held.Add(row);
        }
        foreach (var end in held.Flush()) yield return end;
    }

    /// <summary>One row of the merge: a PSP line and/or Payrail's movement with its key, and for a charge their fees.</summary>
    private sealed record Row(string Key, PspLine? Line, PspLine? LineFee, PayrailLine? Movement, PayrailLine? MovementFee);

    /// <summary>What comes out when a key ends: its movement (once, however many of its lines named it), then the fees.</summary>
    private sealed class HeldRows
    {
        private readonly List<MergedRow> _fees = [];
        private PayrailLine? _movement;
        private PayrailLine? _movementFee;

        public void Add(Row row)
        {
            if (row.LineFee is { } fee) _fees.Add(new MergedRow(fee, null));
            if (row.Movement is not { } movement) return;
            if (_movement is null)
            {
                _movement = movement;
                _movementFee = row.MovementFee;
            }
            // A key's lines all name its one payment (PSP references are unique at Payrail): the same movement again.
            else if (_movement.PaymentId != movement.PaymentId || _movement.RefundId != movement.RefundId)
                throw new InvalidOperationException($"two Payrail movements with key {row.Key}");
        }

        public IEnumerable<MergedRow> Flush()
        {
            if (_movement is not null) yield return new MergedRow(null, _movement);
            foreach (var fee in _fees) yield return fee;
            if (_movementFee is not null) yield return new MergedRow(null, _movementFee);
            _fees.Clear();
            _movement = null;
            _movementFee = null;
        }
    }

    /// <summary>One merged row: its PSP line and/or movement, and for a charge their fees. SequentialAccess: columns in order.</summary>
    private static Row Read(NpgsqlDataReader r)
    {
        var key = r.GetString(0);
        var side = r.GetInt32(1);
        var kind = LineKinds.Parse(r.GetString(2));
        PspLine? line = null;
        if (side == 0)
        {
            line = new PspLine(key, kind, r.GetString(3), r.GetString(4), r.GetInt64(5), r.GetString(6), r.IsDBNull(7) ? null : r.GetString(7),
                r.GetInt64(8), r.GetFieldValue<DateTimeOffset>(9), r.GetFieldValue<DateTimeOffset>(10));
        }
        PayrailLine? movement = null;
        long? ledgerFee = null, ledgerNet = null;
        if (!r.IsDBNull(11))
        {
            var paymentId = r.GetGuid(11);
            Guid? refundId = r.IsDBNull(12) ? null : r.GetGuid(12);
            var status = r.GetString(13);
            long? amount = r.IsDBNull(14) ? null : r.GetInt64(14);
            var currency = r.IsDBNull(15) ? null : r.GetString(15).Trim();
            var at = r.GetFieldValue<DateTimeOffset>(16);
            ledgerFee = r.IsDBNull(17) ? null : r.GetInt64(17);
            ledgerNet = r.IsDBNull(18) ? null : r.GetInt64(18);
            movement = new PayrailLine(key, kind, paymentId, refundId, status, amount, currency, at, Replayed: r.GetBoolean(19));
        }
        if (kind != LineKind.Charge) return new Row(key, line, null, movement, null);
        PspLine? lineFee = null;
        if (line is not null)
        {
            var feeMinor = r.GetInt64(20);
            var feeCurrency = r.IsDBNull(21) ? throw new InvalidOperationException($"staged charge line {line.LineId} has no fee currency") : r.GetString(21);
            lineFee = StagedLine.FeeOf(line, feeMinor, feeCurrency);
        }
        PayrailLine? movementFee = null;
        if (movement is not null)
        {
            long? settledFee = r.IsDBNull(22) ? null : r.GetInt64(22);
            var settledCurrency = r.IsDBNull(23) ? null : r.GetString(23).Trim();
            movementFee = new PayrailLine(LineKinds.Key(r.GetString(24), LineKind.Fee), LineKind.Fee, movement.PaymentId, null, movement.Status,
                settledFee, settledCurrency, movement.At, ledgerFee, ledgerNet);
        }
        return new Row(key, line, lineFee, movement, movementFee);
    }

    // Columns: 0 key, 1 side (0: a PSP line, with the payment it names if a charge; 1: Payrail's movement alone), 2 kind,
    // 3-10 the PSP's line, 11-19 Payrail's movement, 20-21 the PSP line's fee (a charge's), 22-23 the fee settlement booked
    // and 24 the PSP reference (a payment's), with its ledger fee and net in 17-18.
    // Charges: each PSP charge line with the payment it names, then (anti-join, not UNION: no sort of every payment to drop
    // duplicates) the payments captured in the window that no charge names. A named payment's time is never read (a key
    // with a PSP line is decided in its line's window), so no lookup of its capture: that lookup was a third of the merge
    // (a million index probes, measured).
    private const string MergeSql = """
        WITH charge AS (
            SELECT l.match_key, l.line_id, l.reference, l.amount_minor AS psp_amount, l.currency AS psp_currency, l.source_status, l.net_minor,
                   l.created_at, l.available_on, l.fee_minor AS psp_fee, l.fee_currency AS psp_fee_currency,
                   p.id, p.psp_reference, p.status, p.amount_captured_minor, p.currency, p.updated_at AS at
            FROM recon_psp_lines l LEFT JOIN payments p ON p.psp = @psp AND p.psp_reference = l.reference
            WHERE l.kind = 'charge'
            UNION ALL
            -- The payments captured in the window that no charge names (what missing_at_psp is made of), at their capture.
            SELECT p.psp_reference || '|charge', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                   p.id, p.psp_reference, p.status, p.amount_captured_minor, p.currency, min(t.at)
            FROM payment_transitions t JOIN payments p ON p.id = t.payment_id
            WHERE t.to_status = 'captured' AND t.at >= @from AND t.at < @to AND p.psp = @psp AND p.psp_reference IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM recon_psp_lines l WHERE l.kind = 'charge' AND l.reference = p.psp_reference)
            GROUP BY p.id
        ), ref AS (
            SELECT r.id, r.payment_id, r.psp_refund_id, r.status, r.amount_minor, r.currency, r.created_at, r.updated_at FROM refunds r
            WHERE r.psp = @psp AND r.psp_refund_id IN (SELECT reference FROM recon_psp_lines WHERE kind IN ('refund', 'refund_failure'))
            UNION
            SELECT r.id, r.payment_id, r.psp_refund_id, r.status, r.amount_minor, r.currency, r.created_at, r.updated_at FROM refunds r
            WHERE r.psp = @psp AND r.psp_refund_id IS NOT NULL AND r.created_at >= @from AND r.created_at < @to
        )
        SELECT * FROM (
        SELECT ch.match_key, CASE WHEN ch.line_id IS NULL THEN 1 ELSE 0 END AS side, 'charge' AS kind, ch.line_id, ch.reference, ch.psp_amount,
               ch.psp_currency, ch.source_status, ch.net_minor, ch.created_at, ch.available_on,
               ch.id, NULL::uuid, ch.status, ch.amount_captured_minor, ch.currency::text, ch.at, l.fee, l.net, rp.match_key IS NOT NULL,
               ch.psp_fee, ch.psp_fee_currency, s.fee_minor, s.currency::text, ch.psp_reference
        FROM charge ch
        LEFT JOIN reconciliation_replays rp ON ch.id IS NOT NULL AND rp.psp = @psp AND rp.match_key = ch.match_key
        LEFT JOIN payment_settlements s ON s.payment_id = ch.id AND s.psp = @psp
        LEFT JOIN LATERAL (
            SELECT sum(t.amount_minor) FILTER (WHERE c.owner = @fees_owner) AS fee,
                   sum(t.amount_minor) FILTER (WHERE d.owner = @psp_owner AND c.owner = @cash_owner) AS net
            FROM ledger_transfers t JOIN ledger_accounts d ON d.id = t.debit_account_id JOIN ledger_accounts c ON c.id = t.credit_account_id
            -- Only a settled payment's transfers are read (a one-time filter: no probe for the others).
            WHERE s.payment_id IS NOT NULL AND t.payment_id = ch.id AND t.currency = s.currency
        ) l ON true
        UNION ALL
        SELECT match_key, 0, kind, line_id, reference, amount_minor, currency, source_status, net_minor, created_at, available_on,
               NULL::uuid, NULL::uuid, NULL::text, NULL::bigint, NULL::text, NULL::timestamptz, NULL::bigint, NULL::bigint, false,
               NULL::bigint, NULL::text, NULL::bigint, NULL::text, NULL::text
        FROM recon_psp_lines WHERE kind <> 'charge'
        UNION ALL
        SELECT ref.psp_refund_id || '|refund', 1, 'refund', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               ref.payment_id, ref.id, ref.status, ref.amount_minor, ref.currency::text, ref.created_at, NULL, NULL, rp.match_key IS NOT NULL,
               NULL, NULL, NULL, NULL, NULL
        FROM ref LEFT JOIN reconciliation_replays rp ON rp.psp = @psp AND rp.match_key = ref.psp_refund_id || '|refund'
        UNION ALL
        SELECT ref.psp_refund_id || '|refund_failure', 1, 'refund_failure', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               ref.payment_id, ref.id, ref.status, ref.amount_minor, ref.currency::text, ref.updated_at, NULL, NULL, rp.match_key IS NOT NULL,
               NULL, NULL, NULL, NULL, NULL
        FROM ref LEFT JOIN reconciliation_replays rp ON rp.psp = @psp AND rp.match_key = ref.psp_refund_id || '|refund_failure'
        ) merged
        ORDER BY match_key COLLATE "C", side, line_id
        """;

    /// <summary>
    /// Releases the window and drops the lines. A pooled connection keeps its session (the pool resets it only when it is
    /// next opened), so both are done here; a session that broke is discarded by the pool, and PostgreSQL releases its lock.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await using var release = new NpgsqlCommand(
                "DROP TABLE IF EXISTS recon_psp_lines; SELECT pg_advisory_unlock(hashtextextended(@key, 13))", connection);
            release.Parameters.AddWithValue("key", LockKey(psp, window));
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // The session is gone (or busy after a cancelled read): closing it below ends it, lock and table with it.
            NpgsqlConnection.ClearPool(connection);
        }
        await connection.DisposeAsync();
    }
}

/// <summary>One row of the merged stream: a PSP line or a Payrail movement.</summary>
public sealed record MergedRow(PspLine? Psp, PayrailLine? Payrail)
{
    public string Key => Psp?.Key ?? Payrail!.Key;
}

/// <summary>
/// Items copied as they are decided (<see cref="BinaryCopyRows"/>), committed with the run's completion in one
/// transaction (or not at all).
/// </summary>
public sealed class ItemsWriter : IAsyncDisposable
{
    public const string Columns =
        "run_id, n, match_key, bucket, reason, psp_line, payment_id, refund_id, currency, psp_amount_minor, payrail_amount_minor";

    private const short ColumnCount = 11;

    private readonly long _runId;
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly BinaryCopyRows _rows;
    private int _n;

    internal ItemsWriter(long runId, NpgsqlConnection connection, NpgsqlTransaction transaction, NpgsqlRawCopyStream copy)
    {
        _runId = runId;
        _connection = connection;
        _transaction = transaction;
        _rows = new BinaryCopyRows(copy);
    }

    /// <summary>Copies one item (synchronous: it runs on the archive's own task; a full buffer is sent in place).</summary>
    public void Write(LineVerdict v)
    {
        _rows.Row(ColumnCount);
        _rows.Int64(_runId);
        _rows.Int32(++_n);
        _rows.Text(v.Key);
        _rows.Text(v.Bucket);
        _rows.Text(v.Reason);
        _rows.Text(v.PspLineId);
        _rows.Uuid(v.PaymentId);
        _rows.Uuid(v.RefundId);
        _rows.Text(v.CurrencyCode);
        _rows.Int64(v.PspAmountMinor);
        _rows.Int64(v.PayrailAmountMinor);
    }

    /// <summary>Ends the copy and completes the run with its summary, in the items' transaction.</summary>
    public async Task CompleteAsync(ReconciliationReport report, CancellationToken cancellationToken)
    {
        if (report.Items != _n) throw new InvalidOperationException($"reconciliation run {_runId} reports {report.Items} items, {_n} were copied");
        await _rows.CompleteAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            UPDATE reconciliation_runs
            SET status = 'completed', finished_at = @finished_at, psp_lines = @psp_lines, skipped_lines = @skipped, items = @items,
                buckets = @buckets::jsonb, ledger_differences = @ledger::jsonb, breaks = @breaks, result_hash = @hash
            WHERE id = @id AND status = 'running'
            """, _connection, _transaction);
        var p = command.Parameters;
        p.AddWithValue("id", _runId);
        p.AddWithValue("finished_at", report.StartedAt + report.Duration);
        p.AddWithValue("psp_lines", report.PspLines);
        p.AddWithValue("skipped", report.SkippedLines);
        p.AddWithValue("items", report.Items);
        p.AddWithValue("buckets", JsonSerializer.Serialize(report.Buckets));
        p.AddWithValue("ledger", JsonSerializer.Serialize(report.LedgerDifferences.Select(d => new
            { currency = d.CurrencyCode, psp_fee = d.PspFeeMinor, ledger_fee = d.LedgerFeeMinor, psp_net = d.PspNetMinor, ledger_net = d.LedgerNetMinor })));
        p.AddWithValue("breaks", report.Breaks);
        p.AddWithValue("hash", report.ResultHash);
        if (await command.ExecuteNonQueryAsync(cancellationToken) != 1) throw new InvalidOperationException($"reconciliation run {_runId} is no longer running");
        await _transaction.CommitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        // An unfinished copy is cancelled, and the transaction rolled back: a failed run archives nothing.
        await _rows.CancelAsync();
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }
}

using Npgsql;
using NpgsqlTypes;
using Payrail.Domain.Ledger;
using Payrail.Domain.Money;
using Payrail.Psp;

namespace Payrail.Settlement;

/// <summary>The settlement's own SQL (cold path): which payments wait for settlement, and the record of each run.</summary>
public sealed class SettlementStore(NpgsqlDataSource database)
{
    /// <summary>
    /// Of <paramref name="pspReferences"/> (at most one lookup batch), those whose payment awaits settlement at Payrail:
    /// CAPTURED, or refunded in full while captured (REFUNDED from CAPTURED) and not settled yet (its fee is still to post).
    /// </summary>
    public async Task<HashSet<string>> AwaitingSettlementAsync(string psp, IReadOnlyList<string> pspReferences, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT p.psp_reference FROM payments p
            WHERE p.psp = @psp AND p.psp_reference = ANY(@references)
              AND (p.status = 'captured'
                   OR (p.status = 'refunded' AND p.refunded_from = 'captured'
                       AND NOT EXISTS (SELECT 1 FROM payment_settlements s WHERE s.payment_id = p.id)))
            """);
        command.Parameters.AddWithValue("psp", psp);
        command.Parameters.Add(new NpgsqlParameter("references", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = pspReferences.ToArray() });
        var captured = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) captured.Add(reader.GetString(0));
        return captured;
    }

    /// <summary>
    /// Of <paramref name="pspReferences"/> (at most one lookup batch), the payments whose charge is settled (a
    /// payment_settlements row) in another currency than the payment's: reference → settlement currency. Their refunds'
    /// balance transactions are converted between the merchant's two balances (<see cref="RefundConversionPosting"/>).
    /// </summary>
    public async Task<Dictionary<string, (Guid PaymentId, string Currency)>> SettledInAnotherCurrencyAsync(string psp, IReadOnlyList<string> pspReferences,
        CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT p.psp_reference, p.id, s.currency::text FROM payments p JOIN payment_settlements s ON s.payment_id = p.id
            WHERE p.psp = @psp AND p.psp_reference = ANY(@references) AND s.currency <> p.currency
            """);
        command.Parameters.AddWithValue("psp", psp);
        command.Parameters.Add(new NpgsqlParameter("references", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = pspReferences.ToArray() });
        var settled = new Dictionary<string, (Guid, string)>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) settled[reader.GetString(0)] = (reader.GetGuid(1), reader.GetString(2));
        return settled;
    }

    /// <summary>
    /// The refunds of <paramref name="lines"/> (one payment's refund-side balance transactions) that were reserved with a
    /// backing in the settlement currency (Refunds: a strict merchant's refund after its payment's cross-currency
    /// settlement), by balance transaction id: our refund id and its estimate (the estimate transfer, read by its id).
    /// </summary>
    public async Task<Dictionary<string, BackedRefund>> BackedRefundsAsync(string psp, Guid paymentId,
        IReadOnlyList<PspSettlementLine> lines, CancellationToken cancellationToken)
    {
        var backed = new Dictionary<string, BackedRefund>(StringComparer.Ordinal);
        var sources = lines.Where(l => l.SourceId is not null).Select(l => l.SourceId!).Distinct().ToArray();
        if (sources.Length == 0) return backed;
        var refundIds = await RefundIdsAsync(psp, paymentId, sources, cancellationToken);
        var estimates = refundIds.ToDictionary(r => TransferIds.For(paymentId, TransferSteps.RefundFxEstimate(r.Value)), r => r.Key);
        if (estimates.Count == 0) return backed;
        await using var read = database.CreateCommand("SELECT id, currency::text, amount_minor FROM ledger_transfers WHERE id = ANY(@ids)");
        read.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = estimates.Keys.ToArray() });
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        var bySource = new Dictionary<string, BackedRefund>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            var source = estimates[reader.GetGuid(0)];
            bySource[source] = new BackedRefund(refundIds[source], new RefundFxBacking(Currency.FromCode(reader.GetString(1)), reader.GetInt64(2)));
        }
        foreach (var line in lines)
        {
            if (line.SourceId is not null && bySource.TryGetValue(line.SourceId, out var refund)) backed[line.Id] = refund;
        }
        return backed;
    }

    private async Task<Dictionary<string, Guid>> RefundIdsAsync(string psp, Guid paymentId, string[] pspRefundIds, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "SELECT psp_refund_id, id FROM refunds WHERE psp = @psp AND payment_id = @payment_id AND psp_refund_id = ANY(@ids)");
        command.Parameters.AddWithValue("psp", psp);
        command.Parameters.AddWithValue("payment_id", paymentId);
        command.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = pspRefundIds });
        var ids = new Dictionary<string, Guid>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) ids[reader.GetString(0)] = reader.GetGuid(1);
        return ids;
    }

    /// <summary>Our status of each refund the PSP knows by <paramref name="pspRefundIds"/> (absent: not a refund of ours, or its PSP id not recorded yet).</summary>
    public async Task<Dictionary<string, string>> RefundStatusesAsync(string psp, IReadOnlyList<string> pspRefundIds, CancellationToken cancellationToken)
    {
        var statuses = new Dictionary<string, string>(StringComparer.Ordinal);
        if (pspRefundIds.Count == 0) return statuses;
        await using var command = database.CreateCommand("SELECT psp_refund_id, status FROM refunds WHERE psp = @psp AND psp_refund_id = ANY(@ids)");
        command.Parameters.AddWithValue("psp", psp);
        command.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = pspRefundIds.ToArray() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) statuses[reader.GetString(0)] = reader.GetString(1);
        return statuses;
    }

    /// <summary>Which of <paramref name="transferIds"/> the ledger holds (a conversion posted by an earlier run).</summary>
    public async Task<HashSet<Guid>> ExistingTransfersAsync(IReadOnlyList<Guid> transferIds, CancellationToken cancellationToken)
    {
        var existing = new HashSet<Guid>();
        if (transferIds.Count == 0) return existing;
        await using var command = database.CreateCommand("SELECT id FROM ledger_transfers WHERE id = ANY(@ids)");
        command.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = transferIds.ToArray() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) existing.Add(reader.GetGuid(0));
        return existing;
    }

    public async Task RecordRunAsync(SettlementReport report, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO settlement_runs (run_date, trigger, started_at, finished_at, lines_read, settled, unchanged, not_yet, refused)
            VALUES (@run_date, @trigger, @started_at, @finished_at, @lines_read, @settled, @unchanged, @not_yet, @refused)
            """);
        var p = command.Parameters;
        p.AddWithValue("run_date", report.Date);
        p.AddWithValue("trigger", report.Trigger);
        p.AddWithValue("started_at", report.StartedAt);
        p.AddWithValue("finished_at", report.StartedAt + report.Duration);
        p.AddWithValue("lines_read", report.LinesRead);
        p.AddWithValue("settled", report.Settled);
        p.AddWithValue("unchanged", report.Unchanged);
        p.AddWithValue("not_yet", report.NotYetAvailable);
        p.AddWithValue("refused", report.Refused);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>A refund reserved with a backing in the settlement currency: our refund id and its estimate.</summary>
public sealed record BackedRefund(Guid RefundId, RefundFxBacking Backing);

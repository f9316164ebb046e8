using Npgsql;
using NpgsqlTypes;
using Payrail.Domain.Ledger;
using Payrail.Domain.Money;
using Payrail.Domain.Refunds;
using Payrail.Payments;

namespace Payrail.Refunds;

/// <summary>
/// The SQL of <c>refunds</c>. Reads stand alone; every write is an <see cref="ITransitionCommand"/> in the batch of its
/// payment's version-checked change (<see cref="PaymentTransitions"/>), so a refund and its payment's amounts commit together.
/// </summary>
public sealed class RefundStore(NpgsqlDataSource database)
{
    private const string Columns = """
        id, payment_id, merchant_id, amount_minor, currency, status, reason, psp, psp_refund_id, failure_reason, version,
        created_at, updated_at
        """;

    public async Task<RefundRecord?> FindAsync(Guid id)
    {
        await using var command = database.CreateCommand($"SELECT {Columns} FROM refunds WHERE id = @id");
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        return await reader.ReadAsync().ConfigureAwait(false) ? Read(reader) : null;
    }

    public async Task<RefundRecord?> FindByPspRefundIdAsync(string psp, string pspRefundId)
    {
        await using var command = database.CreateCommand($"SELECT {Columns} FROM refunds WHERE psp = @psp AND psp_refund_id = @psp_refund_id");
        command.Parameters.AddWithValue("psp", psp);
        command.Parameters.AddWithValue("psp_refund_id", pspRefundId);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        return await reader.ReadAsync().ConfigureAwait(false) ? Read(reader) : null;
    }

    /// <summary>A payment's refunds, oldest first, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<RefundRecord>> ListByPaymentAsync(Guid paymentId, int limit)
    {
        await using var command = database.CreateCommand($"""
            SELECT {Columns} FROM refunds WHERE payment_id = @payment_id ORDER BY created_at, id LIMIT @limit
            """);
        command.Parameters.AddWithValue("payment_id", paymentId);
        command.Parameters.AddWithValue("limit", limit);
        var refunds = new List<RefundRecord>();
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false)) refunds.Add(Read(reader));
        return refunds;
    }

    /// <summary>
    /// How a new refund of <paramref name="payment"/> must be backed, or null when it draws on the merchant's payable in the
    /// payment's currency as usual: backed when the merchant's payable may not go negative and the PSP settled the payment
    /// in another currency (its payable was converted there). The estimate is taken from the settlement's booked amount
    /// (<see cref="LedgerPostingRules.FxEstimateMinor"/>). A settlement committing after this read leaves the refund
    /// unbacked: the ledger's flag then decides on the payable in the payment's currency, as before settlement.
    /// </summary>
    public async Task<RefundFxBacking?> ReserveBackingAsync(PaymentRecord payment, long amountMinor)
    {
        if (amountMinor <= 0 || payment.AmountCapturedMinor <= 0) return null;
        await using var command = database.CreateCommand("""
            SELECT s.currency::text, s.amount_minor FROM payment_settlements s JOIN merchants m ON m.id = @merchant_id
            WHERE s.payment_id = @payment_id AND s.currency <> @currency AND NOT m.payable_may_go_negative
            """);
        command.Parameters.AddWithValue("payment_id", payment.Id);
        command.Parameters.AddWithValue("merchant_id", payment.MerchantId);
        command.Parameters.AddWithValue("currency", payment.CurrencyCode);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        if (!await reader.ReadAsync().ConfigureAwait(false)) return null;
        var booked = reader.GetInt64(1);
        return new RefundFxBacking(Currency.FromCode(reader.GetString(0)),
            LedgerPostingRules.FxEstimateMinor(amountMinor, payment.AmountCapturedMinor, booked));
    }

    /// <summary>The backing a refund was reserved with (its estimate transfer, by its deterministic id), or null when it had none.</summary>
    public async Task<RefundFxBacking?> BackingAsync(Guid paymentId, Guid refundId)
    {
        await using var command = database.CreateCommand("SELECT currency::text, amount_minor FROM ledger_transfers WHERE id = @id");
        command.Parameters.AddWithValue("id", TransferIds.For(paymentId, TransferSteps.RefundFxEstimate(refundId)));
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        return await reader.ReadAsync().ConfigureAwait(false)
            ? new RefundFxBacking(Currency.FromCode(reader.GetString(0)), reader.GetInt64(1))
            : null;
    }

    /// <summary>Pending refunds created before <paramref name="olderThan"/> and due, oldest first (the sweeper's batch).</summary>
    public async Task<IReadOnlyList<RefundRecord>> ListDuePendingAsync(DateTimeOffset olderThan, DateTimeOffset now, int limit)
    {
        await using var command = database.CreateCommand($"""
            SELECT {Columns} FROM refunds
            WHERE status = 'pending' AND created_at < @older_than AND (sweep_next_check_at IS NULL OR sweep_next_check_at <= @now)
            ORDER BY created_at, id LIMIT @limit
            """);
        command.Parameters.AddWithValue("older_than", olderThan);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("limit", limit);
        var refunds = new List<RefundRecord>();
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false)) refunds.Add(Read(reader));
        return refunds;
    }

    /// <summary>The sweeper asked the PSP about a refund still pending: not again before <paramref name="next"/> (bookkeeping, no version).</summary>
    public async Task RecordCheckAsync(Guid id, DateTimeOffset next)
    {
        await using var command = database.CreateCommand("""
            UPDATE refunds SET sweep_checks = sweep_checks + 1, sweep_next_check_at = @next WHERE id = @id AND status = 'pending'
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("next", next);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    private static RefundRecord Read(NpgsqlDataReader reader)
    {
        if (!RefundStatusWire.TryParseWire(reader.GetString(5), out var status))
            throw new InvalidOperationException($"refund {reader.GetGuid(0)} has an unknown status");
        return new RefundRecord(
            Id: reader.GetGuid(0),
            PaymentId: reader.GetGuid(1),
            MerchantId: reader.GetString(2),
            AmountMinor: reader.GetInt64(3),
            CurrencyCode: reader.GetString(4),
            Status: status,
            Reason: reader.IsDBNull(6) ? null : reader.GetString(6),
            Psp: reader.GetString(7),
            PspRefundId: reader.IsDBNull(8) ? null : reader.GetString(8),
            FailureReason: reader.IsDBNull(9) ? null : reader.GetString(9),
            Version: reader.GetInt32(10),
            CreatedAt: reader.GetFieldValue<DateTimeOffset>(11),
            UpdatedAt: reader.GetFieldValue<DateTimeOffset>(12));
    }
}

/// <summary>Inserts a new refund (pending, its amount reserved by the same batch's payment change).</summary>
public sealed class InsertRefund(RefundRecord refund) : ITransitionCommand
{
    public void AddTo(NpgsqlBatch batch, PaymentRecord payment)
    {
        var insert = new NpgsqlBatchCommand("""
            INSERT INTO refunds (id, payment_id, merchant_id, amount_minor, currency, status, reason, psp, version, created_at, updated_at)
            VALUES (@id, @payment_id, @merchant_id, @amount_minor, @currency, @status, @reason, @psp, @version, @created_at, @created_at)
            """);
        var p = insert.Parameters;
        p.AddWithValue("id", refund.Id);
        p.AddWithValue("payment_id", refund.PaymentId);
        p.AddWithValue("merchant_id", refund.MerchantId);
        p.AddWithValue("amount_minor", refund.AmountMinor);
        p.AddWithValue("currency", refund.CurrencyCode);
        p.AddWithValue("status", refund.Status.ToWire());
        p.Add(new NpgsqlParameter("reason", NpgsqlDbType.Text) { Value = (object?)refund.Reason ?? DBNull.Value });
        p.AddWithValue("psp", refund.Psp);
        p.AddWithValue("version", refund.Version);
        p.AddWithValue("created_at", refund.CreatedAt);
        batch.BatchCommands.Add(insert);
    }
}

/// <summary>
/// Moves a refund from the version it was read at to <paramref name="After"/> (status, PSP id, failure reason). Aborts the
/// whole batch (PR007, the guard of migration 0006) when the refund moved meanwhile: the caller re-reads and decides again.
/// </summary>
public sealed record UpdateRefund(RefundRecord Before, RefundRecord After) : ITransitionCommand
{
    public void AddTo(NpgsqlBatch batch, PaymentRecord payment)
    {
        var update = new NpgsqlBatchCommand("""
            WITH changed AS (
                UPDATE refunds SET status = @status, psp_refund_id = @psp_refund_id, failure_reason = @failure_reason,
                       version = version + 1, updated_at = @now
                WHERE id = @id AND version = @version
                RETURNING 1
            )
            SELECT payment_require_changed((SELECT count(*) FROM changed))
            """);
        var p = update.Parameters;
        p.AddWithValue("status", After.Status.ToWire());
        p.Add(new NpgsqlParameter("psp_refund_id", NpgsqlDbType.Text) { Value = (object?)After.PspRefundId ?? DBNull.Value });
        p.Add(new NpgsqlParameter("failure_reason", NpgsqlDbType.Text) { Value = (object?)After.FailureReason ?? DBNull.Value });
        p.AddWithValue("now", After.UpdatedAt);
        p.AddWithValue("id", Before.Id);
        p.AddWithValue("version", Before.Version);
        batch.BatchCommands.Add(update);
    }
}

using Npgsql;
using NpgsqlTypes;
using Payrail.Idempotency;

namespace Payrail.Payments;

public enum PaymentOperationStatus
{
    /// <summary>Claimed: its PSP call may have been sent; only its own Idempotency-Key (or the PSP's webhook) resolves it.</summary>
    Pending,

    /// <summary>The PSP did it and the payment's change committed with this status.</summary>
    Succeeded,

    /// <summary>The PSP refused it (nothing happened there): the authorization is free for another capture or void.</summary>
    Refused,
}

/// <summary>A row of <c>payment_operations</c> (migration 0017).</summary>
public sealed record PaymentOperation(
    Guid Id,
    Guid PaymentId,
    PaymentOperationKind Kind,
    long AmountMinor,
    string? Reason,
    string PspKeyBase,
    PaymentOperationStatus Status,
    int PspAttempt = 1)
{
    /// <summary>The PSP idempotency key of the current attempt (migration 0017: the base, then <c>&lt;base&gt;:n</c>).</summary>
    public string PspIdempotencyKey => PspAttempt == 1 ? PspKeyBase : $"{PspKeyBase}:{PspAttempt}";

    /// <summary>
    /// A new operation of <paramref name="request"/> on <paramref name="payment"/>: a capture of the amount asked (all that
    /// was authorized when none), a void of the whole authorization. Its PSP key is its own, never reused with other parameters.
    /// </summary>
    public static PaymentOperation For(PaymentRecord payment, PaymentOperationRequest request, DateTimeOffset now)
    {
        var id = Guid.CreateVersion7(now);
        return new PaymentOperation(id, payment.Id, request.Kind, request.AmountMinor ?? payment.AmountMinor, request.Reason,
            $"{payment.Id}:{request.KindWire}:{id}", PaymentOperationStatus.Pending);
    }
}

/// <summary>What a claim came to.</summary>
public enum OperationClaim
{
    /// <summary>This operation is the payment's one pending operation: its PSP call may be sent.</summary>
    Claimed,

    /// <summary>Another capture or void of the payment is pending: nothing written, the PSP must not be called.</summary>
    OtherPending,

    /// <summary>The payment is no longer authorized at the version read: nothing written, re-read and re-decide.</summary>
    PaymentMoved,
}

/// <summary>The SQL of <c>payment_operations</c> (migration 0017): the claim before the PSP call, the resolution with the change.</summary>
public sealed class PaymentOperationStore(NpgsqlDataSource database)
{
    /// <summary>
    /// One statement, committed at once, before any PSP call. FOR SHARE holds the payment at the version read (a concurrent
    /// change waits, or has committed and the row no longer matches), and the partial unique index of pending operations
    /// makes a second claim wait for the first and then insert nothing.
    /// </summary>
    private const string ClaimSql = """
        WITH payment AS (
            SELECT id FROM payments WHERE id = @payment_id AND version = @version AND status = 'authorized' FOR SHARE
        ), claimed AS (
            INSERT INTO payment_operations (id, payment_id, kind, amount_minor, reason, psp_idempotency_key, scope,
                                            idempotency_key, status, created_at)
            SELECT @id, id, @kind, @amount_minor, @reason, @psp_idempotency_key, @scope, @idempotency_key, 'pending', @now
            FROM payment
            ON CONFLICT (payment_id) WHERE status = 'pending' DO NOTHING
            RETURNING id
        )
        SELECT (SELECT count(*) FROM payment), (SELECT count(*) FROM claimed)
        """;

    public async Task<OperationClaim> ClaimAsync(PaymentOperation operation, int paymentVersion, IdempotencyKey key, DateTimeOffset now)
    {
        await using var command = database.CreateCommand(ClaimSql);
        var p = command.Parameters;
        p.AddWithValue("payment_id", operation.PaymentId);
        p.AddWithValue("version", paymentVersion);
        p.AddWithValue("id", operation.Id);
        p.AddWithValue("kind", KindWire(operation.Kind));
        p.AddWithValue("amount_minor", operation.AmountMinor);
        p.Add(new NpgsqlParameter("reason", NpgsqlDbType.Text) { Value = (object?)operation.Reason ?? DBNull.Value });
        p.AddWithValue("psp_idempotency_key", operation.PspKeyBase);
        p.AddWithValue("scope", key.Scope);
        p.AddWithValue("idempotency_key", key.Key);
        p.AddWithValue("now", now);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        await reader.ReadAsync().ConfigureAwait(false);
        if (reader.GetInt64(0) == 0) return OperationClaim.PaymentMoved;
        return reader.GetInt64(1) == 1 ? OperationClaim.Claimed : OperationClaim.OtherPending;
    }

    /// <summary>The newest operation <paramref name="key"/> claimed on the payment (a retry resumes it), or null.</summary>
    public async Task<PaymentOperation?> FindForKeyAsync(Guid paymentId, IdempotencyKey key)
    {
        await using var command = database.CreateCommand("""
            SELECT id, payment_id, kind, amount_minor, reason, psp_idempotency_key, status, psp_attempt FROM payment_operations
            WHERE payment_id = @payment_id AND scope = @scope AND idempotency_key = @key
            ORDER BY created_at DESC LIMIT 1
            """);
        command.Parameters.AddWithValue("payment_id", paymentId);
        command.Parameters.AddWithValue("scope", key.Scope);
        command.Parameters.AddWithValue("key", key.Key);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        if (!await reader.ReadAsync().ConfigureAwait(false)) return null;
        return new PaymentOperation(reader.GetGuid(0), reader.GetGuid(1),
            reader.GetString(2) == "capture" ? PaymentOperationKind.Capture : PaymentOperationKind.Void,
            reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetString(5), reader.GetString(6) switch
            {
                "pending" => PaymentOperationStatus.Pending,
                "succeeded" => PaymentOperationStatus.Succeeded,
                "refused" => PaymentOperationStatus.Refused,
                _ => throw new InvalidOperationException($"payment operation {reader.GetGuid(0)} has an unknown status"),
            }, reader.GetInt32(7));
    }

    /// <summary>
    /// Moves a pending operation to its next PSP key before a resume sends it again (the CHECK bounds it at 10); null
    /// when it is no longer pending at that attempt (nothing written).
    /// </summary>
    public async Task<PaymentOperation?> NextAttemptAsync(PaymentOperation operation)
    {
        await using var command = database.CreateCommand("""
            UPDATE payment_operations SET psp_attempt = psp_attempt + 1
            WHERE id = @id AND status = 'pending' AND psp_attempt = @attempt
            """);
        command.Parameters.AddWithValue("id", operation.Id);
        command.Parameters.AddWithValue("attempt", operation.PspAttempt);
        return await command.ExecuteNonQueryAsync().ConfigureAwait(false) == 1 ? operation with { PspAttempt = operation.PspAttempt + 1 } : null;
    }

    public static string KindWire(PaymentOperationKind kind) => kind == PaymentOperationKind.Capture ? "capture" : "void";
}

/// <summary>Resolves a pending operation in the batch of the payment change (or record) that answers it: both or neither.</summary>
public sealed record ResolvePaymentOperation(Guid OperationId, PaymentOperationStatus Status, DateTimeOffset At) : ITransitionCommand
{
    public void AddTo(NpgsqlBatch batch, PaymentRecord payment)
    {
        if (Status == PaymentOperationStatus.Pending) throw new InvalidOperationException("an operation resolves to succeeded or refused");
        var resolve = new NpgsqlBatchCommand(
            "UPDATE payment_operations SET status = @status, resolved_at = @at WHERE id = @id AND status = 'pending'");
        resolve.Parameters.AddWithValue("status", Status == PaymentOperationStatus.Succeeded ? "succeeded" : "refused");
        resolve.Parameters.AddWithValue("at", At);
        resolve.Parameters.AddWithValue("id", OperationId);
        batch.BatchCommands.Add(resolve);
    }
}

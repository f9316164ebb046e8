using Microsoft.Extensions.Options;
using Npgsql;

namespace Payrail.Idempotency;

/// <summary>A row of <c>idempotency_keys</c>.</summary>
public sealed record IdempotencyRecord(
    string Fingerprint,
    Guid? PaymentId,
    bool Completed,
    DateTimeOffset LeaseExpiresAt,
    int? ResponseStatus,
    string? ResponseBody,
    DateTimeOffset ExpiresAt);

/// <summary>
/// The SQL of <c>idempotency_keys</c> outside the payment transactions (the claim is part of transaction 1,
/// the completion part of transaction 2; both reuse what is here).
/// Retention (<see cref="IdempotencyOptions.RetentionHours"/>) runs from a key's completion, or from its last takeover
/// while it is processing, and only a completed key is ever forgotten: a processing key's payment may have been
/// charged at the PSP, and only a retry with the same key resumes it with the same PSP idempotency key.
/// </summary>
public sealed class IdempotencyStore(NpgsqlDataSource database, IOptions<IdempotencyOptions> options, TimeProvider clock)
{
    private readonly TimeSpan _retention = options.Value.Retention;

    public async Task<IdempotencyRecord?> FindKeyAsync(IdempotencyKey key)
    {
        const string sql = """
            SELECT request_fingerprint, payment_id, status, lease_expires_at, response_status, response_body, expires_at
            FROM idempotency_keys WHERE scope = @scope AND key = @key
            """;
        await using var command = database.CreateCommand(sql);
        command.Parameters.AddWithValue("scope", key.Scope);
        command.Parameters.AddWithValue("key", key.Key);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        if (!await reader.ReadAsync().ConfigureAwait(false)) return null;
        return new IdempotencyRecord(
            reader.GetString(0),
            reader.IsDBNull(1) ? null : reader.GetGuid(1),
            reader.GetString(2) == "completed",
            reader.GetFieldValue<DateTimeOffset>(3),
            reader.IsDBNull(4) ? null : reader.GetInt32(4),
            reader.IsDBNull(5) ? null : reader.GetString(5),
            reader.GetFieldValue<DateTimeOffset>(6));
    }

    /// <summary>
    /// Takes over a crashed owner's key: succeeds for exactly one caller, the one whose UPDATE still
    /// sees the old (expired) lease. The lease expiry doubles as the fencing token. The retention restarts from now.
    /// </summary>
    public async Task<bool> TakeOverAsync(IdempotencyKey key, DateTimeOffset oldLeaseExpiresAt, DateTimeOffset newLeaseExpiresAt, DateTimeOffset now)
    {
        const string sql = """
            UPDATE idempotency_keys SET lease_expires_at = @new_lease, expires_at = @expires_at
            WHERE scope = @scope AND key = @key AND status = 'processing'
              AND lease_expires_at = @old_lease AND lease_expires_at <= @now
            """;
        await using var command = database.CreateCommand(sql);
        command.Parameters.AddWithValue("scope", key.Scope);
        command.Parameters.AddWithValue("key", key.Key);
        command.Parameters.AddWithValue("new_lease", newLeaseExpiresAt);
        command.Parameters.AddWithValue("old_lease", oldLeaseExpiresAt);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("expires_at", now + _retention);
        return await command.ExecuteNonQueryAsync().ConfigureAwait(false) == 1;
    }

    /// <summary>
    /// A completed key past its retention is forgotten, so the client may use it again for a new request. The
    /// statement itself refuses a processing key, whatever its age: forgetting it would let the retry charge again.
    /// </summary>
    public async Task ForgetExpiredKeyAsync(IdempotencyKey key, DateTimeOffset now)
    {
        await using var command = database.CreateCommand(
            "DELETE FROM idempotency_keys WHERE scope = @scope AND key = @key AND status = 'completed' AND expires_at <= @now");
        command.Parameters.AddWithValue("scope", key.Scope);
        command.Parameters.AddWithValue("key", key.Key);
        command.Parameters.AddWithValue("now", now);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    /// <summary>Stores the final response of a key whose payment needed no change (already decided elsewhere).</summary>
    public async Task CompleteKeyAsync(IdempotencyKey key, int responseStatus, string responseBody)
    {
        await using var command = database.CreateCommand(CompleteKeySql);
        AddCompleteKeyParameters(command.Parameters, key, responseStatus, responseBody, clock.GetUtcNow() + _retention);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    /// <summary>Completes a processing key; its retention counts from now (<c>@expires_at</c> = completion + retention).</summary>
    internal const string CompleteKeySql = """
        UPDATE idempotency_keys SET status = 'completed', response_status = @response_status, response_body = @response_body,
               expires_at = @expires_at
        WHERE scope = @scope AND key = @key AND status = 'processing'
        """;

    internal static void AddCompleteKeyParameters(NpgsqlParameterCollection p, IdempotencyKey key, int responseStatus, string responseBody,
        DateTimeOffset expiresAt)
    {
        p.AddWithValue("scope", key.Scope);
        p.AddWithValue("key", key.Key);
        p.AddWithValue("response_status", responseStatus);
        p.AddWithValue("response_body", responseBody);
        p.AddWithValue("expires_at", expiresAt);
    }
}

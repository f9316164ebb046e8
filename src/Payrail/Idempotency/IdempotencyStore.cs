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
/// The writes that commit in the claim's statement (transaction 1): zero or more common table expressions, each written
/// <c>, name AS (...)</c>, that read the claimed row from the CTE <c>claim(payment_id)</c> and so write nothing when the
/// key already existed. They may use <c>@now</c> (= <see cref="At"/>) and must not bind the claim's own parameters
/// (<c>scope, key, fingerprint, id, lease_expires_at, now, key_expires_at</c>). The key's <c>payment_id</c> is
/// <see cref="ResourceId"/>: the payment the request creates or acts on.
/// </summary>
public sealed record IdempotencyClaim(Guid ResourceId, DateTimeOffset At, string WritesSql, Action<NpgsqlParameterCollection> AddParameters)
{
    /// <summary>A claim that writes nothing else (the resource exists already, e.g. the payment a capture acts on).</summary>
    public static IdempotencyClaim KeyOnly(Guid resourceId, DateTimeOffset at) => new(resourceId, at, "", _ => { });
}

/// <summary>
/// The SQL of <c>idempotency_keys</c>. The claim is transaction 1 (with the resource's writes), the completion rides in
/// the transaction of the change it answers (<see cref="CompleteIdempotencyKey"/>).
/// Retention (<see cref="IdempotencyOptions.RetentionHours"/>) runs from a key's completion, or from its last takeover
/// while it is processing, and only a completed key is ever forgotten: a processing key's payment may have been
/// charged at the PSP, and only a retry with the same key resumes it with the same PSP idempotency key.
/// </summary>
public sealed class IdempotencyStore(NpgsqlDataSource database, IOptions<IdempotencyOptions> options, TimeProvider clock)
{
    private readonly TimeSpan _retention = options.Value.Retention;

    /// <summary>
    /// Claims the key for <see cref="IdempotencyClaim.ResourceId"/> with a processing lease and runs the claim's writes in
    /// the same statement (DESIGN.md step 4): all or nothing. False when the key already exists (then nothing is written
    /// and the caller reads the existing key). The retention of a processing key runs from its claim.
    /// </summary>
    public Task<bool> ClaimAsync(IdempotencyKey key, string fingerprint, IdempotencyClaim claim, DateTimeOffset leaseExpiresAt,
        DateTimeOffset now) =>
        ClaimAsync(database, key, fingerprint, claim, leaseExpiresAt, now + _retention);

    internal static async Task<bool> ClaimAsync(NpgsqlDataSource database, IdempotencyKey key, string fingerprint, IdempotencyClaim claim,
        DateTimeOffset leaseExpiresAt, DateTimeOffset keyExpiresAt)
    {
        var sql = $"""
            WITH claim AS (
                INSERT INTO idempotency_keys (scope, key, request_fingerprint, payment_id, status, lease_expires_at, created_at, expires_at)
                VALUES (@scope, @key, @fingerprint, @id, 'processing', @lease_expires_at, @now, @key_expires_at)
                ON CONFLICT (scope, key) DO NOTHING
                RETURNING payment_id
            ){claim.WritesSql}
            SELECT count(*) FROM claim
            """;
        await using var command = database.CreateCommand(sql);
        var p = command.Parameters;
        p.AddWithValue("scope", key.Scope);
        p.AddWithValue("key", key.Key);
        p.AddWithValue("fingerprint", fingerprint);
        p.AddWithValue("id", claim.ResourceId);
        p.AddWithValue("lease_expires_at", leaseExpiresAt);
        p.AddWithValue("now", claim.At);
        p.AddWithValue("key_expires_at", keyExpiresAt);
        claim.AddParameters(p);
        var claimed = (long)(await command.ExecuteScalarAsync().ConfigureAwait(false))!;
        return claimed == 1;
    }

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

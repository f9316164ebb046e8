using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Psp;

namespace Payrail.Payments;

/// <summary>
/// Which PSP idempotency key a payment's create+confirm goes under (recorded on the payment, migration 0012), and when
/// that key last answered 5xx. Attempt 1 uses the payment id itself (DESIGN.md step 5); attempt n uses
/// <c>&lt;payment id&gt;:n</c>.
/// </summary>
public sealed record PspAttempt(Guid PaymentId, int Number, DateTimeOffset? ServerErrorAt)
{
    public static PspAttempt First(Guid paymentId) => new(paymentId, 1, null);

    public string IdempotencyKey => Number == 1 ? PaymentId.ToString() : $"{PaymentId}:{Number}";
}

/// <summary>What to do about a create whose key answered 5xx, given what the PSP's search showed.</summary>
public enum PspResolutionStep
{
    /// <summary>The search found the PaymentIntent: its state is the answer.</summary>
    UseFound,

    /// <summary>Not found, but the search may not show it yet: the payment stays processing.</summary>
    WaitForSearch,

    /// <summary>Not found long enough after the last request that could have created it: create it under the next key.</summary>
    CreateUnderNextKey,

    /// <summary>Not found and every attempt allowed was used: the payment stays processing for a person to look at.</summary>
    GiveUp,
}

/// <summary>
/// Resolves a create+confirm whose outcome the PSP will not tell under its key, without a second charge. Stripe saves a
/// 500 under the idempotency key and replays it for 24 h, though the charge behind it may have happened: a same-key
/// retry learns nothing, and a new key could charge twice. So: search the PSP by the payment id in metadata (the
/// connector always sets it); found → that PaymentIntent's state is the answer (through <see cref="PspAnswerCheck"/>
/// and <see cref="PaymentTransitions"/> like any answer); absent → only once the search's freshness window has passed
/// since the key last answered 5xx, record the next attempt on the payment (version-checked, before the call, so no
/// two processes send the same new key for different reasons and a crash resumes it) and create under the derived key,
/// at most <see cref="PaymentsOptions.MaxPspAttempts"/> keys per payment. One place, so the future sweeper resolves
/// stuck payments the same way.
/// </summary>
public sealed class PspOutcomeResolution(
    NpgsqlDataSource database, IPspConnector psp, IOptions<PaymentsOptions> options, TimeProvider clock, ILogger<PspOutcomeResolution> logger)
{
    private readonly int _maxAttempts = options.Value.MaxPspAttempts;

    /// <summary>The pure decision (tested without a database).</summary>
    public static PspResolutionStep Decide(bool found, PspAttempt attempt, DateTimeOffset now, TimeSpan searchFreshness, int maxAttempts)
    {
        if (found) return PspResolutionStep.UseFound;
        // No 5xx recorded for this key (a crash between the answer and its record): the window starts at the next one.
        if (attempt.ServerErrorAt is not { } since || now - since < searchFreshness) return PspResolutionStep.WaitForSearch;
        return attempt.Number < maxAttempts ? PspResolutionStep.CreateUnderNextKey : PspResolutionStep.GiveUp;
    }

    public async Task<PspAttempt> ReadAttemptAsync(Guid paymentId)
    {
        await using var command = database.CreateCommand("SELECT psp_attempt, psp_server_error_at FROM payments WHERE id = @id");
        command.Parameters.AddWithValue("id", paymentId);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        if (!await reader.ReadAsync().ConfigureAwait(false)) throw new InvalidOperationException($"payment {paymentId} does not exist");
        return new PspAttempt(paymentId, reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1));
    }

    /// <summary>
    /// The create under <paramref name="attempt"/>'s key was answered 5xx. A fresh 5xx may have charged just now: the
    /// window restarts. A replayed one (Stripe's Idempotent-Replayed) ran nothing: the window keeps its start.
    /// </summary>
    public async Task<PspAttempt> RecordServerErrorAsync(PspAttempt attempt, bool replayed)
    {
        var now = PaymentRecord.ToDatabasePrecision(clock.GetUtcNow());
        await using var command = database.CreateCommand($"""
            UPDATE payments SET psp_server_error_at = {(replayed ? "COALESCE(psp_server_error_at, @now)" : "@now")}
            WHERE id = @id AND psp_attempt = @attempt
            RETURNING psp_server_error_at
            """);
        command.Parameters.AddWithValue("id", attempt.PaymentId);
        command.Parameters.AddWithValue("attempt", attempt.Number);
        command.Parameters.AddWithValue("now", now);
        // A newer attempt was recorded meanwhile: this 5xx is about a key no longer used, and changes nothing.
        return await command.ExecuteScalarAsync().ConfigureAwait(false) is DateTimeOffset at ? attempt with { ServerErrorAt = at } : attempt;
    }

    /// <summary>
    /// After the current key answered 5xx: the PaymentIntent found by search, or the next attempt recorded (and the
    /// payment as it now stands), or neither (wait, or give up). A search that fails throws as any PSP call does.
    /// </summary>
    public async Task<(PspResolutionStep Step, PspPayment? Found, PspAttempt Attempt, PaymentRecord Payment)> ResolveAsync(
        PaymentRecord payment, PspAttempt attempt, CancellationToken cancellationToken)
    {
        var found = await psp.SearchByPaymentIdAsync(payment.Id, cancellationToken).ConfigureAwait(false);
        var now = PaymentRecord.ToDatabasePrecision(clock.GetUtcNow());
        var step = Decide(found is not null, attempt, now, psp.SearchFreshness, _maxAttempts);
        switch (step)
        {
            case PspResolutionStep.CreateUnderNextKey:
                var next = new PspAttempt(payment.Id, attempt.Number + 1, null);
                if (!await RecordNextAttemptAsync(payment, next, now).ConfigureAwait(false))
                    return (PspResolutionStep.WaitForSearch, null, attempt, payment); // moved meanwhile: the next retry re-reads
                logger.LogWarning("Payment {PaymentId}: no PaymentIntent found {FreshnessMs} ms after PSP key attempt {Attempt} answered 5xx; creating under attempt {Next}",
                    payment.Id, (long)psp.SearchFreshness.TotalMilliseconds, attempt.Number, next.Number);
                return (step, null, next, payment with { Version = payment.Version + 1, UpdatedAt = now });
            case PspResolutionStep.GiveUp:
                logger.LogError("Payment {PaymentId}: no PaymentIntent found after {Attempts} PSP keys answered 5xx; it stays processing",
                    payment.Id, attempt.Number);
                break;
        }
        return (step, found, attempt, payment);
    }

    /// <summary>Version-checked, and only from the attempt this process saw: one process sends each new key.</summary>
    private async Task<bool> RecordNextAttemptAsync(PaymentRecord payment, PspAttempt next, DateTimeOffset now)
    {
        await using var command = database.CreateCommand("""
            UPDATE payments SET psp_attempt = @next, psp_server_error_at = NULL, version = version + 1, updated_at = @now
            WHERE id = @id AND version = @version AND psp_attempt = @next - 1 AND status IN ('initiated', 'processing')
            """);
        command.Parameters.AddWithValue("id", payment.Id);
        command.Parameters.AddWithValue("version", payment.Version);
        command.Parameters.AddWithValue("next", next.Number);
        command.Parameters.AddWithValue("now", now);
        return await command.ExecuteNonQueryAsync().ConfigureAwait(false) == 1;
    }
}

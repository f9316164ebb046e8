using Microsoft.Extensions.Options;
using Payrail.Api;
using Payrail.Auth;
using Payrail.Domain.Validation;
using Payrail.Payments;

namespace Payrail.Idempotency;

/// <summary>
/// What a mutating endpoint runs under the gate. One instance per request: <see cref="Claim"/> may be called more than
/// once (a lost race to claim is retried), and the last claim that committed is the one <see cref="RunAsync"/> continues.
/// </summary>
public interface IIdempotentOperation
{
    /// <summary>The resource the key will name and the writes that commit with the key's claim (transaction 1).</summary>
    IdempotencyClaim Claim(DateTimeOffset now);

    /// <summary>The request's work, after its fresh claim committed.</summary>
    Task<IdempotentAnswer> RunAsync(IdempotencyLease lease);

    /// <summary>After a takeover of an expired lease: continue the resource from its recorded state, never start over.</summary>
    Task<IdempotentAnswer> ResumeAsync(IdempotencyLease lease);
}

/// <summary>A key this request owns until <paramref name="ExpiresAt"/>, naming <paramref name="ResourceId"/>.</summary>
public sealed record IdempotencyLease(IdempotencyKey Key, string Fingerprint, Guid ResourceId, DateTimeOffset ExpiresAt, TimeSpan Retention)
{
    /// <summary>The completion to commit with the change that answers the request (its retention counts from now).</summary>
    public CompleteIdempotencyKey Completion(Func<PaymentRecord, IdempotentAnswer> answerFor, DateTimeOffset now) =>
        new(Key, answerFor, now + Retention);
}

/// <summary>
/// The idempotency decision of every mutating endpoint (DESIGN.md step 3), one implementation: scope (caller + route),
/// fingerprint, lease, replay with <c>Idempotent-Replayed</c>, 409 with <c>Retry-After</c> while in flight, 422 for
/// another request under the same key, takeover of an expired lease, and PostgreSQL alone when Redis is unreachable.
/// A crash anywhere leaves the key processing with a lease; the next retry after the lease takes over and resumes the
/// same resource, so money moves once. Only a completed key is ever forgotten, after its retention.
/// </summary>
public sealed class IdempotencyGate(
    IdempotencyStore keys,
    RedisIdempotencyCache cache,
    PaymentMetrics metrics,
    IOptions<IdempotencyOptions> options,
    TimeProvider clock,
    ILogger<IdempotencyGate> logger)
{
    private const int MaxDecisionAttempts = 4;
    private readonly IdempotencyOptions _options = options.Value;

    public static IdempotencyKey KeyFor(Caller caller, string route, string key) => new($"{caller.ScopeOwner}:{route}", key);

    /// <summary>
    /// The request's key from its one <c>Idempotency-Key</c> header, scoped to the caller and route; else the 400 to answer
    /// (nothing written). A card number in the key is refused like one in a body: the key is stored and names a Redis key.
    /// </summary>
    public static IResult? TryReadKey(HttpContext http, Caller caller, string route, out IdempotencyKey key)
    {
        key = null!;
        var header = http.Request.Headers[IdempotencyKey.HeaderName];
        if (header.Count != 1 || !IdempotencyKey.IsWellFormed(header[0]))
            return Problems.Result(Problems.InvalidIdempotencyKey, "Invalid Idempotency-Key", StatusCodes.Status400BadRequest,
                $"Send one {IdempotencyKey.HeaderName} header of 1-{IdempotencyKey.MaxLength} visible ASCII characters (a UUID is a good choice).");
        if (CardNumberDetector.ContainsCardNumber(header[0])) return PaymentRequestParser.CardNumberRefusal.ToResult();
        key = KeyFor(caller, route, header[0]!);
        return null;
    }

    /// <summary>Runs <paramref name="operation"/> at most once per key, or answers for it.</summary>
    public async Task<IResult> RunAsync(IdempotencyKey key, byte[] canonicalRequest, IIdempotentOperation operation)
    {
        var fingerprint = IdempotencyKey.Fingerprint(key.Scope, canonicalRequest);
        // The raw key may mean something to the client; logs carry only its hash.
        using var _ = logger.BeginScope("IdempotencyKeyHash:{IdempotencyKeyHash}", key.Hash);

        var now = clock.GetUtcNow();
        var (cached, entry) = await cache.TryBeginAsync(key.RedisKey,
            CachedIdempotencyEntry.Lease(fingerprint, now + _options.Lease)).ConfigureAwait(false);
        var cachedLeaseLeft = TimeSpan.Zero;
        var readFirst = false;
        if (cached == CacheBegin.Existing && entry is not null)
        {
            if (entry.State == CachedIdempotencyEntry.Completed && entry.Fingerprint == fingerprint && entry.ResponseBody is not null)
                return Replay(entry.ResponseStatus, entry.ResponseBody);
            // Anything else Redis says (in flight, another request, an expired lease) is confirmed by PostgreSQL,
            // the truth: Redis may lag it (a completion written while Redis was down) or have lost data.
            readFirst = true;
            if (entry.State == CachedIdempotencyEntry.Processing)
                cachedLeaseLeft = DateTimeOffset.FromUnixTimeMilliseconds(entry.LeaseExpiresAtMs) - now;
        }

        for (var attempt = 0; attempt < MaxDecisionAttempts; attempt++)
        {
            now = clock.GetUtcNow();
            if (!readFirst)
            {
                var claim = operation.Claim(now);
                var leaseExpiresAt = PaymentRecord.ToDatabasePrecision(now + _options.Lease);
                if (await keys.ClaimAsync(key, fingerprint, claim, leaseExpiresAt, now).ConfigureAwait(false))
                    return await RunFreshAsync(operation, new IdempotencyLease(key, fingerprint, claim.ResourceId, leaseExpiresAt, _options.Retention),
                        cached).ConfigureAwait(false);
            }

            var existing = await keys.FindKeyAsync(key).ConfigureAwait(false);
            if (existing is null)
            {
                // Redis holds a live lease but PostgreSQL has no row yet: the owner is between its SET and its commit.
                if (readFirst && cachedLeaseLeft > TimeSpan.Zero) return Conflict(cachedLeaseLeft);
                readFirst = false;
                continue; // no row (or forgotten between our insert and our read): claim it
            }
            readFirst = false;
            // Only a final answer expires: a processing key's resource may be charged, and only this key resumes it.
            if (existing.Completed && existing.ExpiresAt <= now)
            {
                await keys.ForgetExpiredKeyAsync(key, now).ConfigureAwait(false);
                continue;
            }
            if (existing.Completed || existing.LeaseExpiresAt > now)
                await MirrorIntoCacheAsync(key, cached, entry, existing).ConfigureAwait(false);
            if (existing.Fingerprint != fingerprint) return Mismatch();
            if (existing.Completed) return Replay(existing.ResponseStatus!.Value, existing.ResponseBody!);
            if (existing.LeaseExpiresAt > now) return Conflict(existing.LeaseExpiresAt - now);

            // The owner's lease expired (it crashed, or the PSP outcome was unknown): exactly one retry takes over.
            var newLease = PaymentRecord.ToDatabasePrecision(now + _options.Lease);
            if (await keys.TakeOverAsync(key, existing.LeaseExpiresAt, newLease, now).ConfigureAwait(false))
                return await TakeOverAsync(operation, new IdempotencyLease(key, fingerprint, existing.PaymentId!.Value, newLease, _options.Retention))
                    .ConfigureAwait(false);
        }

        // Every attempt lost a race to another request with the same key: that one is working on it.
        return Conflict(TimeSpan.FromSeconds(1));
    }

    /// <summary>
    /// Makes Redis say what PostgreSQL says when they differ: our own SET NX may have put a lease into a
    /// Redis that had lost the key, or Redis missed a completion while it was down.
    /// </summary>
    private async Task MirrorIntoCacheAsync(IdempotencyKey key, CacheBegin cached, CachedIdempotencyEntry? entry, IdempotencyRecord truth)
    {
        if (cached == CacheBegin.Unavailable) return;
        var truthState = truth.Completed ? CachedIdempotencyEntry.Completed : CachedIdempotencyEntry.Processing;
        if (cached == CacheBegin.Existing && entry is not null && entry.Fingerprint == truth.Fingerprint && entry.State == truthState) return;
        await cache.StoreAsync(key.RedisKey, truth.Completed
            ? CachedIdempotencyEntry.Response(truth.Fingerprint, truth.ResponseStatus!.Value, truth.ResponseBody!)
            : CachedIdempotencyEntry.Lease(truth.Fingerprint, truth.LeaseExpiresAt)).ConfigureAwait(false);
    }

    private async Task<IResult> RunFreshAsync(IIdempotentOperation operation, IdempotencyLease lease, CacheBegin cached)
    {
        metrics.Idempotency(IdempotencyOutcome.Fresh);
        // Redis held an expired lease or another request's entry: it now holds ours.
        if (cached == CacheBegin.Existing)
            await cache.StoreAsync(lease.Key.RedisKey, CachedIdempotencyEntry.Lease(lease.Fingerprint, lease.ExpiresAt)).ConfigureAwait(false);
        return await AnswerAsync(lease, await operation.RunAsync(lease).ConfigureAwait(false)).ConfigureAwait(false);
    }

    private async Task<IResult> TakeOverAsync(IIdempotentOperation operation, IdempotencyLease lease)
    {
        metrics.Idempotency(IdempotencyOutcome.Takeover);
        await cache.StoreAsync(lease.Key.RedisKey, CachedIdempotencyEntry.Lease(lease.Fingerprint, lease.ExpiresAt)).ConfigureAwait(false);
        return await AnswerAsync(lease, await operation.ResumeAsync(lease).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <summary>A final answer is in PostgreSQL already (the operation's transaction completed the key): Redis gets it too.</summary>
    private async Task<IResult> AnswerAsync(IdempotencyLease lease, IdempotentAnswer answer)
    {
        if (answer.Final)
            await cache.StoreAsync(lease.Key.RedisKey, CachedIdempotencyEntry.Response(lease.Fingerprint, answer.Status, answer.Body))
                .ConfigureAwait(false);
        return new StoredResponse(answer.Status, answer.Body);
    }

    private IResult Replay(int status, string body)
    {
        metrics.Idempotency(IdempotencyOutcome.Replayed);
        return new StoredResponse(status, body, replayed: true);
    }

    private IResult Mismatch()
    {
        metrics.Idempotency(IdempotencyOutcome.Mismatch);
        return Problems.Result(Problems.IdempotencyKeyReused, "Idempotency key reused", StatusCodes.Status422UnprocessableEntity,
            "This Idempotency-Key was already used with a different request. Use a new key for a new payment.");
    }

    private IResult Conflict(TimeSpan leaseLeft)
    {
        metrics.Idempotency(IdempotencyOutcome.Conflict);
        var seconds = Math.Max(1, (int)Math.Ceiling(leaseLeft.TotalSeconds));
        return new ConflictResult(seconds);
    }

    private sealed class ConflictResult(int retryAfterSeconds) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Problems.Result(Problems.IdempotencyKeyInUse, "Request in progress", StatusCodes.Status409Conflict,
                "A request with this Idempotency-Key is still being processed. Retry after the indicated delay.").ExecuteAsync(httpContext);
        }
    }
}

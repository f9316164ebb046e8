using System.Diagnostics;
using Microsoft.Extensions.Options;
using Payrail.Api;
using Payrail.Auth;
using Payrail.Domain.Payments;
using Payrail.Idempotency;
using Payrail.Psp;

namespace Payrail.Payments;

/// <summary>
/// <c>POST /v1/payments</c> after validation: the idempotency decision (DESIGN.md step 3), the
/// recorded intent (step 4), the PSP call (step 5) and the recorded outcome (steps 6–7).
/// A crash anywhere leaves the key processing with a lease; the next retry after the lease takes
/// over and resumes the same payment with the same PSP idempotency key, so money moves once.
/// </summary>
public sealed class PaymentCreation(
    PaymentStore store,
    IdempotencyStore keys,
    RedisIdempotencyCache cache,
    IPspConnector psp,
    PaymentMetrics metrics,
    PaymentCrashPoints crashPoints,
    IOptions<IdempotencyOptions> idempotencyOptions,
    IOptions<PaymentsOptions> paymentsOptions,
    TimeProvider clock,
    ILogger<PaymentCreation> logger)
{
    public const string Route = "POST /v1/payments";
    private const int MaxDecisionAttempts = 4;
    private readonly IdempotencyOptions _idempotency = idempotencyOptions.Value;
    private readonly PaymentsOptions _payments = paymentsOptions.Value;

    public static IdempotencyKey KeyFor(Caller caller, string key) => new($"{caller.ScopeOwner}:{Route}", key);

    public async Task<IResult> CreateAsync(Caller caller, IdempotencyKey key, CreatePaymentRequest request)
    {
        var fingerprint = IdempotencyKey.Fingerprint(key.Scope, request.ToCanonicalJson());
        // The raw key may mean something to the client; logs carry only its hash.
        using var _ = logger.BeginScope("IdempotencyKeyHash:{IdempotencyKeyHash}", key.Hash);

        var now = clock.GetUtcNow();
        var (cached, entry) = await cache.TryBeginAsync(key.RedisKey,
            CachedIdempotencyEntry.Lease(fingerprint, now + _idempotency.Lease)).ConfigureAwait(false);
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
                var payment = NewPayment(caller, request, now);
                var leaseExpiresAt = PaymentRecord.ToDatabasePrecision(now + _idempotency.Lease);
                var initiated = PaymentChange.Event("payment.initiated", payment, null, now);
                if (await store.RecordIntentAsync(payment, key, fingerprint, leaseExpiresAt, now + _idempotency.Retention, initiated).ConfigureAwait(false))
                    return await ChargeNewPaymentAsync(payment, key, fingerprint, request, leaseExpiresAt, cached).ConfigureAwait(false);
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
            // Only a final answer expires: a processing key's payment may be charged, and only this key resumes it.
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
            var newLease = PaymentRecord.ToDatabasePrecision(now + _idempotency.Lease);
            if (await keys.TakeOverAsync(key, existing.LeaseExpiresAt, newLease, now).ConfigureAwait(false))
                return await ResumeAsync(existing.PaymentId!.Value, key, fingerprint, request, newLease).ConfigureAwait(false);
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

    private async Task<IResult> ChargeNewPaymentAsync(PaymentRecord payment, IdempotencyKey key, string fingerprint,
        CreatePaymentRequest request, DateTimeOffset leaseExpiresAt, CacheBegin cached)
    {
        metrics.Idempotency(IdempotencyOutcome.Fresh);
        // Redis held an expired lease or another request's entry: it now holds ours.
        if (cached == CacheBegin.Existing)
            await cache.StoreAsync(key.RedisKey, CachedIdempotencyEntry.Lease(fingerprint, leaseExpiresAt)).ConfigureAwait(false);
        using var _ = logger.BeginScope("PaymentId:{PaymentId}", payment.Id);
        logger.LogDebug("Payment {PaymentId} initiated", payment.Id);
        if (crashPoints.AfterIntentRecorded is { } crash) await crash(payment.Id).ConfigureAwait(false);
        return await AuthorizeAndRecordAsync(payment, key, fingerprint, request).ConfigureAwait(false);
    }

    /// <summary>Continues a payment whose previous owner lost its lease, from the state recorded for it.</summary>
    private async Task<IResult> ResumeAsync(Guid paymentId, IdempotencyKey key, string fingerprint, CreatePaymentRequest request, DateTimeOffset newLease)
    {
        metrics.Idempotency(IdempotencyOutcome.Takeover);
        await cache.StoreAsync(key.RedisKey, CachedIdempotencyEntry.Lease(fingerprint, newLease)).ConfigureAwait(false);
        var payment = await store.FindAsync(paymentId).ConfigureAwait(false)
            ?? throw new InvalidOperationException("an idempotency key refers to a payment that does not exist");
        using var _ = logger.BeginScope("PaymentId:{PaymentId}", payment.Id);
        logger.LogWarning("Payment {PaymentId} resumed from {Status} after its previous owner's lease expired",
            payment.Id, payment.Status.ToWire());

        if (payment.Status is PaymentStatus.Initiated or PaymentStatus.Processing)
            return await AuthorizeAndRecordAsync(payment, key, fingerprint, request).ConfigureAwait(false);

        // Decided meanwhile (a webhook, the sweeper): the answer is the payment as it stands.
        var status = HttpStatusFor(payment.Status);
        var body = payment.ToJson();
        await keys.CompleteKeyAsync(key, status, body).ConfigureAwait(false);
        await cache.StoreAsync(key.RedisKey, CachedIdempotencyEntry.Response(fingerprint, status, body)).ConfigureAwait(false);
        return new StoredResponse(status, body);
    }

    private async Task<IResult> AuthorizeAndRecordAsync(PaymentRecord payment, IdempotencyKey key, string fingerprint, CreatePaymentRequest request)
    {
        var (outcome, decided) = await AuthorizeAsync(payment, request).ConfigureAwait(false);
        var current = payment;
        for (var attempt = 0; attempt <= _payments.MaxVersionRetries; attempt++)
        {
            var change = PaymentChange.Plan(current, outcome, psp.Name, "psp.authorize", PaymentRecord.ToDatabasePrecision(clock.GetUtcNow()));
            var after = change?.After ?? current;
            var status = HttpStatusFor(after.Status);
            var body = after.ToJson();
            // An unknown outcome is not an answer to keep: the key stays processing so a retry after the lease re-asks the PSP.
            var storeResponse = decided;
            if (change is null)
            {
                if (storeResponse) await keys.CompleteKeyAsync(key, status, body).ConfigureAwait(false);
            }
            else if (!await store.ApplyAsync(change, storeResponse ? key : null, status, storeResponse ? body : null).ConfigureAwait(false))
            {
                current = await store.FindAsync(payment.Id).ConfigureAwait(false)
                    ?? throw new InvalidOperationException("a recorded payment disappeared");
                continue;
            }

            if (storeResponse)
                await cache.StoreAsync(key.RedisKey, CachedIdempotencyEntry.Response(fingerprint, status, body)).ConfigureAwait(false);
            metrics.Payment(after.Status.ToWire());
            // Debug: the outcome is already durable (payment_transitions, outbox) and counted (metrics);
            // an Information line per payment (JSON console, with scopes) is pure overhead at hundreds per second.
            logger.LogDebug("Payment {PaymentId} is {Status}", after.Id, after.Status.ToWire());
            return new StoredResponse(status, body);
        }

        throw new InvalidOperationException($"payment {payment.Id} kept changing under us; gave up after {_payments.MaxVersionRetries} re-reads");
    }

    /// <summary>The PSP call, bounded by the synchronous budget. Decided = false when the outcome is unknown.</summary>
    private async Task<(PspOutcome Outcome, bool Decided)> AuthorizeAsync(PaymentRecord payment, CreatePaymentRequest request)
    {
        var authorize = new PspAuthorizeRequest(
            IdempotencyKey: payment.Id.ToString(),
            AmountMinor: payment.AmountMinor,
            CurrencyCode: payment.CurrencyCode,
            PaymentMethod: request.PaymentMethod,
            CaptureAutomatically: payment.Capture == CaptureMethod.Automatic,
            Description: payment.Description,
            Metadata: new Dictionary<string, string> { ["payrail_payment_id"] = payment.Id.ToString(), ["payrail_merchant_id"] = payment.MerchantId });
        var started = Stopwatch.GetTimestamp();
        using var budget = new CancellationTokenSource(TimeSpan.FromMilliseconds(_payments.SyncBudgetMs), clock);
        try
        {
            var answer = await psp.AuthorizeAsync(authorize, budget.Token).ConfigureAwait(false);
            if (PspAnswerCheck.Mismatch(payment, answer) is { } field)
            {
                metrics.PspCall("authorize", "mismatch", Stopwatch.GetElapsedTime(started));
                metrics.PspAnswerMismatch(field);
                // Field names and references only: the answer carries no secrets, and amounts are in the payment row.
                logger.LogError("PSP answer for payment {PaymentId} disagrees with it on {Field} (PSP reference {PspReference}); it stays processing",
                    payment.Id, field, answer.PspReference);
                return (PspOutcome.Unknown, false);
            }
            metrics.PspCall("authorize", answer.Status.ToString().ToLowerInvariant(), Stopwatch.GetElapsedTime(started));
            return (PspOutcome.From(answer), true);
        }
        // A key used with other parameters says nothing about this charge: treat it as unknown, never as a failure.
        catch (PspRequestRejectedException e) when (e.Code != "idempotency_error")
        {
            metrics.PspCall("authorize", "rejected", Stopwatch.GetElapsedTime(started));
            logger.LogWarning("PSP refused the request for payment {PaymentId}: {Code}", payment.Id, e.Code);
            return (PspOutcome.From(e), true);
        }
        catch (Exception e) when (e is PspUnavailableException or PspRequestRejectedException
                                  || (e is OperationCanceledException && budget.IsCancellationRequested))
        {
            metrics.PspCall("authorize", "unknown", Stopwatch.GetElapsedTime(started));
            logger.LogWarning("PSP outcome unknown for payment {PaymentId} ({Error}); it stays processing", payment.Id, e.GetType().Name);
            return (PspOutcome.Unknown, false);
        }
    }

    private static PaymentRecord NewPayment(Caller caller, CreatePaymentRequest request, DateTimeOffset now)
    {
        var at = PaymentRecord.ToDatabasePrecision(now);
        return new PaymentRecord(Guid.CreateVersion7(now), request.MerchantId, caller.Subject, request.AmountMinor, request.Currency.Code,
            PaymentStatus.Initiated, request.Capture, null, null, 0, 0, null, null, request.Description, request.Metadata, 1, at, at);
    }

    public static int HttpStatusFor(PaymentStatus status) => status switch
    {
        PaymentStatus.Failed => StatusCodes.Status402PaymentRequired,
        PaymentStatus.Initiated or PaymentStatus.Processing => StatusCodes.Status202Accepted,
        _ => StatusCodes.Status201Created,
    };

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

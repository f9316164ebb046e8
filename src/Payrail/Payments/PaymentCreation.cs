using System.Diagnostics;
using Microsoft.Extensions.Options;
using Payrail.Auth;
using Payrail.Domain.Payments;
using Payrail.Idempotency;
using Payrail.Outbox;
using Payrail.Psp;

namespace Payrail.Payments;

/// <summary>
/// <c>POST /v1/payments</c> after validation: under the idempotency gate (DESIGN.md step 3), the recorded intent (step 4)
/// in the key's claim, the PSP call (step 5) and the recorded outcome (steps 6–7) through <see cref="PaymentTransitions"/>,
/// with the key's completion in the same transaction. A crash anywhere leaves the key processing with a lease; the next
/// retry after the lease takes over and resumes the same payment with the same PSP idempotency key, so money moves once.
/// A key the PSP answered 5xx (Stripe replays that 500 for 24 h) is resolved on resume by <see cref="PspOutcomeResolution"/>.
/// </summary>
public sealed class PaymentCreation(
    IdempotencyGate gate,
    PaymentStore store,
    PaymentTransitions transitions,
    IPspConnector psp,
    PspOutcomeResolution resolution,
    PaymentMetrics metrics,
    PaymentCrashPoints crashPoints,
    IOptions<PaymentsOptions> paymentsOptions,
    TimeProvider clock,
    ILogger<PaymentCreation> logger)
{
    public const string Route = "POST /v1/payments";
    private const string AuthorizeCause = "psp.authorize";
    private const string SearchCause = "psp.search";
    private readonly PaymentsOptions _payments = paymentsOptions.Value;

    public static IdempotencyKey KeyFor(Caller caller, string key) => IdempotencyGate.KeyFor(caller, Route, key);

    public Task<IResult> CreateAsync(Caller caller, IdempotencyKey key, CreatePaymentRequest request) =>
        gate.RunAsync(key, request.ToCanonicalJson(), new Creation(this, caller, request));

    /// <summary>One request's payment under the gate: the claim records it, a fresh run or a takeover charges it.</summary>
    private sealed class Creation(PaymentCreation flow, Caller caller, CreatePaymentRequest request) : IIdempotentOperation
    {
        private PaymentRecord? _claimed;

        public IdempotencyClaim Claim(DateTimeOffset now)
        {
            _claimed = NewPayment(caller, request, now);
            return PaymentStore.IntentClaim(_claimed, PaymentChange.Event(EventTypes.PaymentInitiated, _claimed, null, _claimed.CreatedAt),
                request.PaymentMethod);
        }

        public async Task<IdempotentAnswer> RunAsync(IdempotencyLease lease)
        {
            var payment = _claimed is { } claimed && claimed.Id == lease.ResourceId
                ? claimed
                : throw new InvalidOperationException("the gate ran a payment this request did not claim");
            return await flow.ChargeNewPaymentAsync(payment, lease, request).ConfigureAwait(false);
        }

        public Task<IdempotentAnswer> ResumeAsync(IdempotencyLease lease) => flow.ResumeAsync(lease, request);
    }

    private async Task<IdempotentAnswer> ChargeNewPaymentAsync(PaymentRecord payment, IdempotencyLease lease, CreatePaymentRequest request)
    {
        using var _ = logger.BeginScope("PaymentId:{PaymentId}", payment.Id);
        logger.LogDebug("Payment {PaymentId} initiated", payment.Id);
        if (crashPoints.AfterIntentRecorded is { } crash) await crash(payment.Id).ConfigureAwait(false);
        return await AuthorizeAndRecordAsync(payment, lease, request, resuming: false).ConfigureAwait(false);
    }

    /// <summary>Continues a payment whose previous owner lost its lease, from the state recorded for it.</summary>
    private async Task<IdempotentAnswer> ResumeAsync(IdempotencyLease lease, CreatePaymentRequest request)
    {
        var payment = await store.FindAsync(lease.ResourceId).ConfigureAwait(false)
            ?? throw new InvalidOperationException("an idempotency key refers to a payment that does not exist");
        using var _ = logger.BeginScope("PaymentId:{PaymentId}", payment.Id);
        logger.LogWarning("Payment {PaymentId} resumed from {Status} after its previous owner's lease expired",
            payment.Id, payment.Status.ToWire());

        if (payment.Status is PaymentStatus.Initiated or PaymentStatus.Processing)
            return await AuthorizeAndRecordAsync(payment, lease, request, resuming: true).ConfigureAwait(false);

        // Decided meanwhile (a webhook, the sweeper): the answer is the payment as it stands.
        var recorded = await transitions.RecordAsync(payment, [lease.Completion(Answer, clock.GetUtcNow())]).ConfigureAwait(false);
        return Answer(AfterCommit(recorded, payment));
    }

    private async Task<IdempotentAnswer> AuthorizeAndRecordAsync(
        PaymentRecord payment, IdempotencyLease lease, CreatePaymentRequest request, bool resuming)
    {
        var (outcome, decided, cause, current) = await AuthorizeAsync(payment, request, resuming).ConfigureAwait(false);
        payment = current;
        if (crashPoints.BeforeOutcomeRecorded is { } hold) await hold(payment.Id).ConfigureAwait(false);
        // An unknown outcome is not an answer to keep: the key stays processing so a retry after the lease re-asks the PSP.
        IReadOnlyList<ITransitionCommand> complete = decided ? [lease.Completion(Answer, clock.GetUtcNow())] : [];
        var result = await transitions.ApplyAsync(payment, new PaymentTransition(outcome, psp.Name, cause), complete)
            .ConfigureAwait(false);
        // Refused: the payment reached a final state meanwhile (a webhook, the sweeper) that this answer cannot move;
        // the answer is the payment as it stands.
        if (result.Kind == TransitionResultKind.Refused)
            result = await transitions.RecordAsync(result.Payment!, complete).ConfigureAwait(false);
        var after = AfterCommit(result, payment);
        metrics.Payment(after.Status.ToWire());
        // Debug: the outcome is already durable (payment_transitions, outbox) and counted (metrics);
        // an Information line per payment (JSON console, with scopes) is pure overhead at hundreds per second.
        logger.LogDebug("Payment {PaymentId} is {Status}", after.Id, after.Status.ToWire());
        return Answer(after) with { Final = decided };
    }

    /// <summary>The payment a committed result leaves; a payment that kept changing under us is a 500, the key stays processing.</summary>
    private PaymentRecord AfterCommit(TransitionResult result, PaymentRecord payment) => result.Committed
        ? result.Payment!
        : throw new InvalidOperationException(
            $"payment {payment.Id} kept changing under us; gave up after {_payments.MaxVersionRetries} re-reads ({result.Kind})");

    private static IdempotentAnswer Answer(PaymentRecord payment) => new(HttpStatusFor(payment.Status), payment.ToJson(), Final: true);

    /// <summary>
    /// The PSP call, bounded by the synchronous budget. Decided = false when the outcome is unknown. On resume, a create
    /// answered 5xx goes on to <see cref="PspOutcomeResolution"/>: the PaymentIntent found by search, or (once the search
    /// window passed with nothing found) a create under the next recorded key; the payment returned is as it then stands.
    /// </summary>
    private async Task<(PspOutcome Outcome, bool Decided, string Cause, PaymentRecord Payment)> AuthorizeAsync(
        PaymentRecord payment, CreatePaymentRequest request, bool resuming)
    {
        using var budget = new CancellationTokenSource(TimeSpan.FromMilliseconds(_payments.SyncBudgetMs), clock);
        // A fresh payment is on its first key; a resumed one on the key recorded for it (a crash may have raised it).
        var attempt = resuming ? await resolution.ReadAttemptAsync(payment.Id).ConfigureAwait(false) : PspAttempt.First(payment.Id);
        var sent = await CreateAtPspAsync(payment, request, attempt, budget).ConfigureAwait(false);
        // A fresh request's 5xx is only recorded: nothing it created can be searchable yet, the buyer's retry resolves it.
        if (sent.ServerErrorAttempt is not { } failed || !resuming) return (sent.Outcome, sent.Decided, AuthorizeCause, payment);

        var started = Stopwatch.GetTimestamp();
        try
        {
            var (step, found, next, current) = await resolution.ResolveAsync(payment, failed, budget.Token).ConfigureAwait(false);
            // A found intent is counted by its status below.
            if (step != PspResolutionStep.UseFound) metrics.PspCall("search", step.ToString().ToLowerInvariant(), Stopwatch.GetElapsedTime(started));
            switch (step)
            {
                case PspResolutionStep.UseFound:
                    var checkedAnswer = Checked(payment, found!, "search", started);
                    return (checkedAnswer.Outcome, checkedAnswer.Decided, SearchCause, payment);
                case PspResolutionStep.CreateUnderNextKey:
                    var retried = await CreateAtPspAsync(current, request, next, budget).ConfigureAwait(false);
                    return (retried.Outcome, retried.Decided, AuthorizeCause, current);
                default:
                    return (PspOutcome.Unknown, false, AuthorizeCause, payment);
            }
        }
        catch (Exception e) when (e is PspUnavailableException or PspRequestRejectedException
                                  || (e is OperationCanceledException && budget.IsCancellationRequested))
        {
            metrics.PspCall("search", "unknown", Stopwatch.GetElapsedTime(started));
            logger.LogWarning("PSP search for payment {PaymentId} failed ({Error}); it stays processing", payment.Id, e.GetType().Name);
            return (PspOutcome.Unknown, false, AuthorizeCause, payment);
        }
    }

    /// <summary>What one create+confirm under <paramref name="attempt"/>'s key came to; the attempt as recorded when the PSP answered 5xx.</summary>
    private sealed record PspSend(PspOutcome Outcome, bool Decided, PspAttempt? ServerErrorAttempt = null);

    private async Task<PspSend> CreateAtPspAsync(PaymentRecord payment, CreatePaymentRequest request, PspAttempt attempt, CancellationTokenSource budget)
    {
        var authorize = AuthorizeRequest(payment, request.PaymentMethod, attempt);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var answer = await psp.AuthorizeAsync(authorize, budget.Token).ConfigureAwait(false);
            var (outcome, decided) = Checked(payment, answer, "authorize", started);
            return new PspSend(outcome, decided);
        }
        // A key used with other parameters says nothing about this charge: treat it as unknown, never as a failure.
        catch (PspRequestRejectedException e) when (e.Code != "idempotency_error")
        {
            metrics.PspCall("authorize", "rejected", Stopwatch.GetElapsedTime(started));
            logger.LogWarning("PSP refused the request for payment {PaymentId}: {Code}", payment.Id, e.Code);
            return new PspSend(PspOutcome.From(e), true);
        }
        catch (Exception e) when (e is PspUnavailableException or PspRequestRejectedException
                                  || (e is OperationCanceledException && budget.IsCancellationRequested))
        {
            metrics.PspCall("authorize", "unknown", Stopwatch.GetElapsedTime(started));
            logger.LogWarning("PSP outcome unknown for payment {PaymentId} ({Error}); it stays processing", payment.Id, e.GetType().Name);
            // Recorded before anything else, so the search window counts from the 5xx even if this process dies now.
            var failed = e is PspUnavailableException { ServerError: true } serverError
                ? await resolution.RecordServerErrorAsync(attempt, serverError.Replayed).ConfigureAwait(false)
                : null;
            return new PspSend(PspOutcome.Unknown, false, failed);
        }
    }

    /// <summary>
    /// The create+confirm of <paramref name="payment"/> under <paramref name="attempt"/>'s key: the same parameters
    /// whoever sends it (this flow, a resume, the sweeper), so a same-key replay is never refused as a different request.
    /// </summary>
    public static PspAuthorizeRequest AuthorizeRequest(PaymentRecord payment, string paymentMethod, PspAttempt attempt) => new(
        IdempotencyKey: attempt.IdempotencyKey,
        AmountMinor: payment.AmountMinor,
        CurrencyCode: payment.CurrencyCode,
        PaymentMethod: paymentMethod,
        CaptureAutomatically: payment.Capture == CaptureMethod.Automatic,
        Description: payment.Description,
        Metadata: new Dictionary<string, string> { ["payrail_payment_id"] = payment.Id.ToString(), ["payrail_merchant_id"] = payment.MerchantId });

    /// <summary>A PSP answer (from the create or found by search) through <see cref="PspAnswerCheck"/>: a mismatch is an unknown outcome.</summary>
    private (PspOutcome Outcome, bool Decided) Checked(PaymentRecord payment, PspPayment answer, string operation, long started)
    {
        if (PspAnswerCheck.Mismatch(payment, answer) is { } field)
        {
            metrics.PspCall(operation, "mismatch", Stopwatch.GetElapsedTime(started));
            metrics.PspAnswerMismatch(field);
            // Field names and references only: the answer carries no secrets, and amounts are in the payment row.
            logger.LogError("PSP answer for payment {PaymentId} disagrees with it on {Field} (PSP reference {PspReference}); it stays processing",
                payment.Id, field, answer.PspReference);
            return (PspOutcome.Unknown, false);
        }
        metrics.PspCall(operation, answer.Status.ToString().ToLowerInvariant(), Stopwatch.GetElapsedTime(started));
        return (PspOutcome.From(answer), true);
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
}

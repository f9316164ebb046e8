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
/// </summary>
public sealed class PaymentCreation(
    IdempotencyGate gate,
    PaymentStore store,
    PaymentTransitions transitions,
    IPspConnector psp,
    PaymentMetrics metrics,
    PaymentCrashPoints crashPoints,
    IOptions<PaymentsOptions> paymentsOptions,
    TimeProvider clock,
    ILogger<PaymentCreation> logger)
{
    public const string Route = "POST /v1/payments";
    private const string AuthorizeCause = "psp.authorize";
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
            return PaymentStore.IntentClaim(_claimed, PaymentChange.Event(EventTypes.PaymentInitiated, _claimed, null, _claimed.CreatedAt));
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
        return await AuthorizeAndRecordAsync(payment, lease, request).ConfigureAwait(false);
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
            return await AuthorizeAndRecordAsync(payment, lease, request).ConfigureAwait(false);

        // Decided meanwhile (a webhook, the sweeper): the answer is the payment as it stands.
        var recorded = await transitions.RecordAsync(payment, [lease.Completion(Answer, clock.GetUtcNow())]).ConfigureAwait(false);
        return Answer(AfterCommit(recorded, payment));
    }

    private async Task<IdempotentAnswer> AuthorizeAndRecordAsync(PaymentRecord payment, IdempotencyLease lease, CreatePaymentRequest request)
    {
        var (outcome, decided) = await AuthorizeAsync(payment, request).ConfigureAwait(false);
        // An unknown outcome is not an answer to keep: the key stays processing so a retry after the lease re-asks the PSP.
        IReadOnlyList<ITransitionCommand> complete = decided ? [lease.Completion(Answer, clock.GetUtcNow())] : [];
        var result = await transitions.ApplyAsync(payment, new PaymentTransition(outcome, psp.Name, AuthorizeCause), complete)
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
}

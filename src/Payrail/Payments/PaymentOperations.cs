using System.Diagnostics;
using Microsoft.Extensions.Options;
using Payrail.Api;
using Payrail.Domain.Payments;
using Payrail.Idempotency;
using Payrail.Psp;

namespace Payrail.Payments;

/// <summary>
/// <c>POST /v1/payments/{id}/capture</c> and <c>/void</c> after validation, under the idempotency gate: the payment's
/// state is checked (409, stored under the key), the operation is claimed (<see cref="PaymentOperationStore.ClaimAsync"/>,
/// committed before any PSP call, so a concurrent capture and void never both reach the PSP), the PSP is called under the
/// operation's own key within the synchronous budget, and its answer is recorded through <see cref="PaymentTransitions"/>
/// with the operation's resolution and the key's completion in the same transaction. A crash or an unknown PSP outcome
/// after the claim leaves the key processing and the operation pending: the retry after the lease reads the intent at
/// the PSP first and records what it shows, sending the call again (under the operation's next PSP key) only while the
/// authorization is still open there, so the outcome is the PSP's truth and money moves once.
/// </summary>
public sealed class PaymentOperations(
    IdempotencyGate gate,
    PaymentStore payments,
    PaymentOperationStore operations,
    PaymentTransitions transitions,
    IPspConnector psp,
    PaymentMetrics metrics,
    PaymentCrashPoints crashPoints,
    IOptions<PaymentsOptions> paymentsOptions,
    TimeProvider clock,
    ILogger<PaymentOperations> logger)
{
    public const string CaptureRoute = "POST /v1/payments/{id}/capture";
    public const string VoidRoute = "POST /v1/payments/{id}/void";
    private readonly PaymentsOptions _payments = paymentsOptions.Value;

    /// <summary>PSP refusal codes that say the amount cannot be charged (Stripe's minimum, the currency's unit): a 400.</summary>
    private static readonly HashSet<string> AmountRefusals =
        ["amount_too_small", "invalid_charge_amount", "invalid_charge_amount_no_decimal_compatible", "amount_not_chargeable"];

    public static string RouteFor(PaymentOperationKind kind) => kind == PaymentOperationKind.Capture ? CaptureRoute : VoidRoute;

    public Task<IResult> RunAsync(IdempotencyKey key, PaymentOperationRequest request) =>
        gate.RunAsync(key, request.ToCanonicalJson(), new Operation(this, request));

    /// <summary>The key names the payment acted on; its claim writes nothing else (the operation is claimed once the state is checked).</summary>
    private sealed class Operation(PaymentOperations flow, PaymentOperationRequest request) : IIdempotentOperation
    {
        public IdempotencyClaim Claim(DateTimeOffset now) => IdempotencyClaim.KeyOnly(request.PaymentId, now);

        public Task<IdempotentAnswer> RunAsync(IdempotencyLease lease) => flow.StartAsync(lease, request);

        public Task<IdempotentAnswer> ResumeAsync(IdempotencyLease lease) => flow.ResumeAsync(lease, request);
    }

    /// <summary>What the PSP call came to: its answer, its refusal code, or nothing known (null both).</summary>
    private sealed record PspResult(PspPayment? Answer, string? RefusalCode)
    {
        public static PspResult Unknown { get; } = new(null, null);
    }

    private async Task<IdempotentAnswer> StartAsync(IdempotencyLease lease, PaymentOperationRequest request)
    {
        for (var attempt = 0; attempt <= _payments.MaxVersionRetries; attempt++)
        {
            var payment = await FindAsync(request.PaymentId).ConfigureAwait(false);
            if (StateRefusal(payment, request) is { } refusal) return await AnswerAsync(payment, lease, null, refusal).ConfigureAwait(false);

            var now = PaymentRecord.ToDatabasePrecision(clock.GetUtcNow());
            var operation = PaymentOperation.For(payment, request, now);
            switch (await operations.ClaimAsync(operation, payment.Version, lease.Key, now).ConfigureAwait(false))
            {
                case OperationClaim.Claimed:
                    return await SendAsync(payment, operation, lease).ConfigureAwait(false);
                // Not the key's final answer: once the other operation is decided this request has a real one (it may
                // then succeed, or meet the payment's new state), so a retry under the same key must ask again.
                case OperationClaim.OtherPending:
                    return NotYet(payment, InProgress);
                case OperationClaim.PaymentMoved:
                    continue; // re-read: it may have left AUTHORIZED (then the state check answers) or only changed version
            }
        }
        throw new InvalidOperationException(
            $"payment {request.PaymentId} kept changing under a {request.KindWire}; gave up after {_payments.MaxVersionRetries} re-reads");
    }

    /// <summary>
    /// After a takeover of an expired lease. No operation yet: the owner died before its claim; start as new. A pending
    /// one: its PSP call may or may not have happened, so the intent is read first and what it shows is recorded; the
    /// call is sent again only while the authorization is still open (<see cref="SendAgainAsync"/>).
    /// </summary>
    private async Task<IdempotentAnswer> ResumeAsync(IdempotencyLease lease, PaymentOperationRequest request)
    {
        var payment = await FindAsync(request.PaymentId).ConfigureAwait(false);
        var operation = await operations.FindForKeyAsync(payment.Id, lease.Key).ConfigureAwait(false);
        if (operation is null) return await StartAsync(lease, request).ConfigureAwait(false);
        logger.LogWarning("{Operation} {OperationId} of payment {PaymentId} resumed after its previous owner's lease expired",
            request.KindWire, operation.Id, payment.Id);
        if (operation.Status != PaymentOperationStatus.Pending)
            return await AnswerAsync(payment, lease, null, operation.Status == PaymentOperationStatus.Succeeded ? null : StateConflict)
                .ConfigureAwait(false);

        using var budget = new CancellationTokenSource(TimeSpan.FromMilliseconds(_payments.SyncBudgetMs), clock);
        PspPayment? current;
        try
        {
            current = await psp.RetrieveAsync(payment.PspReference!, budget.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (IsUnknownOutcome(e, budget))
        {
            return Unknown(payment, operation, e);
        }
        if (current is { Status: PspPaymentStatus.Authorized }) return await SendAgainAsync(payment, operation, lease).ConfigureAwait(false);
        return await RecordAsync(payment, operation, lease, new PspResult(current, null), budget).ConfigureAwait(false);
    }

    /// <summary>
    /// The authorization is still open at the PSP, so the earlier call did nothing there: sent again under the next PSP
    /// key (a 500 Stripe saved under the earlier one would be replayed for 24 h). Past
    /// <see cref="PaymentsOptions.MaxPspAttempts"/> it stays pending for a person to look at.
    /// </summary>
    private async Task<IdempotentAnswer> SendAgainAsync(PaymentRecord payment, PaymentOperation operation, IdempotencyLease lease)
    {
        if (operation.PspAttempt >= _payments.MaxPspAttempts) return Unknown(payment, operation, null);
        var next = await operations.NextAttemptAsync(operation).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"operation {operation.Id} moved while its key's lease was held");
        return await SendAsync(payment, next, lease).ConfigureAwait(false);
    }

    private async Task<IdempotentAnswer> SendAsync(PaymentRecord payment, PaymentOperation operation, IdempotencyLease lease)
    {
        using var _ = logger.BeginScope("PaymentId:{PaymentId}", payment.Id);
        if (crashPoints.AfterOperationClaimed is { } crash) await crash(payment.Id).ConfigureAwait(false);
        using var budget = new CancellationTokenSource(TimeSpan.FromMilliseconds(_payments.SyncBudgetMs), clock);
        var kind = PaymentOperationStore.KindWire(operation.Kind);
        var started = Stopwatch.GetTimestamp();
        PspResult result;
        try
        {
            var answer = operation.Kind == PaymentOperationKind.Capture
                ? await psp.CaptureAsync(payment.PspReference!, operation.AmountMinor, payment.CurrencyCode, operation.PspIdempotencyKey, budget.Token)
                    .ConfigureAwait(false)
                : await psp.VoidAsync(payment.PspReference!, operation.PspIdempotencyKey, operation.Reason, budget.Token).ConfigureAwait(false);
            metrics.PspCall(kind, answer.Status.ToString().ToLowerInvariant(), Stopwatch.GetElapsedTime(started));
            result = new PspResult(answer, null);
        }
        // A key used with other parameters says nothing about this operation: unknown, never a refusal.
        catch (PspRequestRejectedException e) when (e.Code != "idempotency_error")
        {
            metrics.PspCall(kind, "rejected", Stopwatch.GetElapsedTime(started));
            logger.LogInformation("PSP refused {Operation} {OperationId} of payment {PaymentId}: {Code}", kind, operation.Id, payment.Id, e.Code);
            result = new PspResult(null, e.Code);
        }
        catch (Exception e) when (IsUnknownOutcome(e, budget))
        {
            metrics.PspCall(kind, "unknown", Stopwatch.GetElapsedTime(started));
            return Unknown(payment, operation, e);
        }
        if (crashPoints.BeforeOperationRecorded is { } hold) await hold(payment.Id).ConfigureAwait(false);
        return await RecordAsync(payment, operation, lease, result, budget).ConfigureAwait(false);
    }

    /// <summary>
    /// Records what the PSP said, with the operation's resolution and the key's completion. The expected answer (captured,
    /// canceled) succeeds; an amount the PSP cannot charge is a 400 and changes nothing; any other refusal or answer is
    /// resolved by the intent as it stands at the PSP (e.g. canceled on expiry → VOIDED) and answered 409 with the status.
    /// </summary>
    private async Task<IdempotentAnswer> RecordAsync(PaymentRecord payment, PaymentOperation operation, IdempotencyLease lease,
        PspResult result, CancellationTokenSource budget)
    {
        var now = PaymentRecord.ToDatabasePrecision(clock.GetUtcNow());
        if (result.RefusalCode is { } code && AmountRefusals.Contains(code))
            return await AnswerAsync(payment, lease, new ResolvePaymentOperation(operation.Id, PaymentOperationStatus.Refused, now), AmountRefused)
                .ConfigureAwait(false);

        var answer = result.Answer;
        if (answer is null)
        {
            try
            {
                answer = await psp.RetrieveAsync(payment.PspReference!, budget.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (IsUnknownOutcome(e, budget))
            {
                return Unknown(payment, operation, e);
            }
        }
        if (answer is null || PspAnswerCheck.Mismatch(payment, answer) is { } field)
        {
            logger.LogError("PSP answer to {Operation} {OperationId} of payment {PaymentId} is missing or disagrees with it; it stays pending",
                PaymentOperationStore.KindWire(operation.Kind), operation.Id, payment.Id);
            return Unknown(payment, operation, null);
        }

        var succeeded = Succeeded(operation, answer);
        var resolve = new ResolvePaymentOperation(operation.Id, succeeded ? PaymentOperationStatus.Succeeded : PaymentOperationStatus.Refused, now);
        IReadOnlyList<ITransitionCommand> commands =
            [resolve, lease.Completion(after => Answer(after, succeeded ? null : RefusalAfter(operation, after)), clock.GetUtcNow())];
        var transition = new PaymentTransition(PspOutcome.For(payment, answer), psp.Name, Cause(operation));
        var recorded = await transitions.ApplyAsync(payment, transition, commands).ConfigureAwait(false);
        // Refused by the state machine: the payment is final already (a webhook, the sweeper); the answer is the payment as it stands.
        if (recorded.Kind == TransitionResultKind.Refused)
            recorded = await transitions.RecordAsync(recorded.Payment!, commands).ConfigureAwait(false);
        var after = Committed(recorded, payment);
        logger.LogInformation("{Operation} {OperationId} of payment {PaymentId}: {Outcome}, the payment is {Status}",
            PaymentOperationStore.KindWire(operation.Kind), operation.Id, payment.Id, succeeded ? "succeeded" : "refused", after.Status.ToWire());
        return Answer(after, succeeded ? null : RefusalAfter(operation, after));
    }

    /// <summary>The PSP did what was asked: a capture of exactly the amount, or a cancel.</summary>
    private static bool Succeeded(PaymentOperation operation, PspPayment answer) => operation.Kind == PaymentOperationKind.Capture
        ? answer.Status == PspPaymentStatus.Captured && answer.AmountCapturedMinor == operation.AmountMinor
        : answer.Status == PspPaymentStatus.Canceled;

    private static string Cause(PaymentOperation operation) => operation.Kind == PaymentOperationKind.Capture ? "api.capture" : "api.void";

    /// <summary>Why a refused operation was refused, as the payment now stands: a capture met by an expired (voided) hold, else the state.</summary>
    private static Refusal RefusalAfter(PaymentOperation operation, PaymentRecord after) =>
        operation.Kind == PaymentOperationKind.Capture && after.Status == PaymentStatus.Voided ? Expired : StateConflict;

    /// <summary>
    /// An answer recorded with the key's completion (and the operation's resolution, when given), against the payment as
    /// it stands: the payment (200) when <paramref name="refusal"/> is null, else the refusal's problem with its status.
    /// </summary>
    private async Task<IdempotentAnswer> AnswerAsync(PaymentRecord payment, IdempotencyLease lease, ResolvePaymentOperation? resolve, Refusal? refusal)
    {
        var completion = lease.Completion(after => Answer(after, refusal), clock.GetUtcNow());
        IReadOnlyList<ITransitionCommand> commands = resolve is null ? [completion] : [resolve, completion];
        var recorded = await transitions.RecordAsync(payment, commands).ConfigureAwait(false);
        return Answer(Committed(recorded, payment), refusal);
    }

    /// <summary>
    /// A refusal that only holds while something else is under way: answered, not recorded (not final), so the key stays
    /// processing until its lease ends and a retry then decides afresh (<see cref="IdempotentAnswer.Final"/>).
    /// </summary>
    private static IdempotentAnswer NotYet(PaymentRecord payment, Refusal refusal) => Answer(payment, refusal) with { Final = false };

    private PaymentRecord Committed(TransitionResult result, PaymentRecord payment) => result.Committed
        ? result.Payment!
        : throw new InvalidOperationException(
            $"payment {payment.Id} kept changing under us; gave up after {_payments.MaxVersionRetries} re-reads ({result.Kind})");

    /// <summary>
    /// The PSP may or may not have acted: the operation stays pending and the key processing (not final), so a retry after
    /// the lease resumes it. The answer says so, as a problem.
    /// </summary>
    private IdempotentAnswer Unknown(PaymentRecord payment, PaymentOperation operation, Exception? e)
    {
        logger.LogWarning("PSP outcome of {Operation} {OperationId} of payment {PaymentId} unknown ({Error}, PSP attempt {Attempt}); it stays pending",
            PaymentOperationStore.KindWire(operation.Kind), operation.Id, payment.Id, e?.GetType().Name ?? "no usable answer", operation.PspAttempt);
        return new IdempotentAnswer(StatusCodes.Status503ServiceUnavailable, Problems.Json(Problems.PspOutcomeUnknown, "PSP outcome unknown",
            StatusCodes.Status503ServiceUnavailable,
            "Our payment provider did not answer in time. Retry with the same Idempotency-Key: the operation is never done twice.",
            ("payment_status", payment.Status.ToWire())), Final: false);
    }

    private static bool IsUnknownOutcome(Exception e, CancellationTokenSource budget) =>
        e is PspUnavailableException or PspRequestRejectedException || (e is OperationCanceledException && budget.IsCancellationRequested);

    private async Task<PaymentRecord> FindAsync(Guid paymentId) =>
        await payments.FindAsync(paymentId).ConfigureAwait(false)
        ?? throw new InvalidOperationException("an idempotency key refers to a payment that does not exist");

    /// <summary>A 409 (or 400) this operation gets, as a problem carrying the payment's status.</summary>
    private sealed record Refusal(string Type, string Title, int Status, string Detail);

    private static readonly Refusal StateConflict = new(Problems.PaymentStateConflict, "Payment state conflict", StatusCodes.Status409Conflict,
        "Only an authorized payment can be captured or voided, once.");
    private static readonly Refusal AboveAuthorized = new(Problems.CaptureAboveAuthorized, "Capture above authorized amount",
        StatusCodes.Status409Conflict, "A capture can take at most the amount authorized.");
    private static readonly Refusal InProgress = new(Problems.PaymentOperationInProgress, "Payment operation in progress",
        StatusCodes.Status409Conflict, "Another capture or void of this payment is under way.");
    private static readonly Refusal Expired = new(Problems.AuthorizationExpired, "Authorization expired", StatusCodes.Status409Conflict,
        "The authorization expired before the capture; the payment is voided.");
    private static readonly Refusal AmountRefused = new(Problems.AmountNotChargeable, "Amount not chargeable", StatusCodes.Status400BadRequest,
        "Our payment provider refuses to capture this amount (e.g. below its minimum charge for the currency).");

    /// <summary>The state check before any claim: only an authorized payment, and a capture within what it authorized.</summary>
    private static Refusal? StateRefusal(PaymentRecord payment, PaymentOperationRequest request)
    {
        if (payment.Status != PaymentStatus.Authorized) return StateConflict;
        if (payment.PspReference is null) throw new InvalidOperationException($"authorized payment {payment.Id} has no PSP reference");
        return request.AmountMinor is { } amount && amount > payment.AmountMinor ? AboveAuthorized : null;
    }

    private static IdempotentAnswer Answer(PaymentRecord payment, Refusal? refusal)
    {
        if (refusal is null) return new IdempotentAnswer(StatusCodes.Status200OK, payment.ToJson(), Final: true);
        return new IdempotentAnswer(refusal.Status, Problems.Json(refusal.Type, refusal.Title, refusal.Status, refusal.Detail,
            ("payment_status", payment.Status.ToWire()), ("payment_id", payment.Id.ToString())), Final: true);
    }
}

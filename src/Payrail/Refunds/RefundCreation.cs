using Microsoft.Extensions.Options;
using Payrail.Api;
using Payrail.Auth;
using Payrail.Domain.Refunds;
using Payrail.Idempotency;
using Payrail.Payments;
using Payrail.Psp;

namespace Payrail.Refunds;

/// <summary>A refund request after validation: the payment, the amount (null: all that remains refundable), the reason.</summary>
public sealed record CreateRefundRequest(Guid PaymentId, long? AmountMinor, string? Currency, string? Reason)
{
    /// <summary>What the idempotency fingerprint covers: the request as sent (a default amount stays null).</summary>
    public byte[] ToCanonicalJson() => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
    {
        ["payment_id"] = PaymentId.ToString(), ["amount"] = AmountMinor, ["currency"] = Currency, ["reason"] = Reason,
    });
}

/// <summary>
/// <c>POST /v1/payments/{id}/refunds</c> after validation, under the idempotency gate as <c>POST /v1/payments</c> is: the
/// key's claim names a new refund id; the refund is recorded pending with its amount reserved on the payment
/// (version-checked, so refunds racing for the last remaining amount cannot both commit) and held in the ledger (a pending
/// transfer merchant → buyer, refused atomically when the merchant's payable cannot take it) before the PSP is asked under
/// the refund's own PSP idempotency key (its id); the PSP's answer moves it through <see cref="RefundTransitions"/> with the
/// key's completion in the same transaction. A crash anywhere leaves the key processing: the retry after the lease sends
/// the same PSP request again (the PSP answers with the refund it made, or makes it once), and the sweeper does the same.
/// </summary>
public sealed class RefundCreation(
    IdempotencyGate gate,
    PaymentStore payments,
    RefundStore refunds,
    PaymentTransitions transitions,
    RefundTransitions refundTransitions,
    IPspConnector psp,
    IOptions<RefundsOptions> options,
    TimeProvider clock,
    ILogger<RefundCreation> logger)
{
    public const string Route = "POST /v1/payments/{id}/refunds";
    private const string ReserveCause = "refund.create";
    private const string AnswerCause = "psp.refund";
    private readonly RefundsOptions _options = options.Value;

    public Task<IResult> CreateAsync(IdempotencyKey key, CreateRefundRequest request) =>
        gate.RunAsync(key, request.ToCanonicalJson(), new Creation(this, request));

    private sealed class Creation(RefundCreation flow, CreateRefundRequest request) : IIdempotentOperation
    {
        public IdempotencyClaim Claim(DateTimeOffset now) => IdempotencyClaim.KeyOnly(Guid.CreateVersion7(now), PaymentRecord.ToDatabasePrecision(now));

        public Task<IdempotentAnswer> RunAsync(IdempotencyLease lease) => flow.ReserveAndRefundAsync(lease, request);

        public Task<IdempotentAnswer> ResumeAsync(IdempotencyLease lease) => flow.ResumeAsync(lease, request);
    }

    private async Task<IdempotentAnswer> ReserveAndRefundAsync(IdempotencyLease lease, CreateRefundRequest request)
    {
        var payment = await payments.FindAsync(request.PaymentId).ConfigureAwait(false)
            ?? throw new InvalidOperationException("a refund request passed validation for a payment that does not exist");
        var now = PaymentRecord.ToDatabasePrecision(clock.GetUtcNow());
        // Default: all that remains refundable as this read sees it; the reservation below checks it against the row's version.
        var amount = request.AmountMinor ?? payment.RefundBalance.RefundableMinor;
        if (amount <= 0) return await RefuseAsync(lease, payment, PaymentRefunds.ExceedsRefundableCode).ConfigureAwait(false);
        var refund = new RefundRecord(lease.ResourceId, payment.Id, payment.MerchantId, amount, payment.CurrencyCode,
            RefundStatus.Pending, request.Reason, psp.Name, null, null, 1, now, now);
        var backing = await refunds.ReserveBackingAsync(payment, amount).ConfigureAwait(false);
        var reserved = await transitions.ApplyAsync(payment,
            PaymentTransition.Of(new RefundChange(refund.Id, RefundMove.Reserve, amount, backing), psp.Name, ReserveCause), [new InsertRefund(refund)])
            .ConfigureAwait(false);
        switch (reserved.Kind)
        {
            case TransitionResultKind.Applied:
                break;
            // Another refund took the amount (or the payment moved on) between validation and now, or the merchant's payable
            // cannot hold it (the ledger refused the hold, PaymentTransitions): answered, and kept as the key's answer.
            case TransitionResultKind.Refused:
                return await RefuseAsync(lease, reserved.Payment!, reserved.Rejection!.Code).ConfigureAwait(false);
            default:
                throw new InvalidOperationException($"payment {payment.Id} kept changing under us; the refund was not recorded ({reserved.Kind})");
        }
        return await RefundAtPspAsync(lease, refund).ConfigureAwait(false);
    }

    /// <summary>Continues a refund whose request's previous owner lost its lease, from what is recorded of it.</summary>
    private async Task<IdempotentAnswer> ResumeAsync(IdempotencyLease lease, CreateRefundRequest request)
    {
        var refund = await refunds.FindAsync(lease.ResourceId).ConfigureAwait(false);
        // The owner died before the reservation committed: nothing of it exists, do it now.
        if (refund is null) return await ReserveAndRefundAsync(lease, request).ConfigureAwait(false);
        logger.LogWarning("Refund {RefundId} resumed ({Status}) after its previous owner's lease expired", refund.Id, refund.Status);
        if (refund.Status == RefundStatus.Pending) return await RefundAtPspAsync(lease, refund).ConfigureAwait(false);
        var payment = await payments.FindAsync(refund.PaymentId).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"refund {refund.Id} refers to a payment that does not exist");
        var recorded = await transitions.RecordAsync(payment, [lease.Completion(_ => Answer(refund), clock.GetUtcNow())]).ConfigureAwait(false);
        return recorded.Committed ? Answer(refund) : throw new InvalidOperationException($"payment {payment.Id} kept changing under us");
    }

    /// <summary>
    /// Asks the PSP (bounded by <see cref="RefundsOptions.SyncBudgetMs"/>, under the refund's id as PSP idempotency key) and
    /// records its answer with the key's completion. An unknown outcome leaves the refund pending and the key processing.
    /// </summary>
    private async Task<IdempotentAnswer> RefundAtPspAsync(IdempotencyLease lease, RefundRecord refund)
    {
        RefundWord word;
        using var budget = new CancellationTokenSource(TimeSpan.FromMilliseconds(_options.SyncBudgetMs), clock);
        var payment = await payments.FindAsync(refund.PaymentId).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"refund {refund.Id} refers to a payment that does not exist");
        try
        {
            var answer = await psp.RefundAsync(Request(refund, payment), budget.Token).ConfigureAwait(false);
            var applied = await refundTransitions.ApplyAsync(refund.Id, answer, AnswerCause, Completion(lease)).ConfigureAwait(false);
            return Decided(applied, refund);
        }
        // The PSP refused the refund itself (e.g. it counts the charge as refunded already): the refund failed, its
        // reservation is released. A key reused with other parameters says nothing of this refund: unknown.
        catch (PspRequestRejectedException e) when (e.Code != "idempotency_error")
        {
            logger.LogWarning("PSP refused refund {RefundId} of payment {PaymentId}: {Code}", refund.Id, refund.PaymentId, e.Code);
            word = new RefundWord(RefundStatus.Failed, null, e.Code.Length is > 0 and <= 255 ? e.Code : "refused");
        }
        catch (Exception e) when (e is PspUnavailableException or PspRequestRejectedException
                                  || (e is OperationCanceledException && budget.IsCancellationRequested))
        {
            // Stripe saves a 5xx under the key and replays it: only the payment's refund list can tell whether it was made.
            if (e is PspUnavailableException { ServerError: true } && await FindAsync(refund, payment, budget.Token).ConfigureAwait(false) is { } found)
                return Decided(await refundTransitions.ApplyAsync(refund.Id, found, AnswerCause, Completion(lease)).ConfigureAwait(false), refund);
            logger.LogWarning("PSP outcome unknown for refund {RefundId} ({Error}); it stays pending", refund.Id, e.GetType().Name);
            var current = await refunds.FindAsync(refund.Id).ConfigureAwait(false) ?? refund;
            return new IdempotentAnswer(StatusCodes.Status202Accepted, current.ToJson(), Final: false);
        }
        var failed = await refundTransitions.ApplyAsync(refund.Id, word, AnswerCause, Completion(lease)).ConfigureAwait(false);
        return Decided(failed, refund);
    }

    /// <summary>The refund the PSP made under this refund's id, by its metadata; null when not shown or the PSP does not answer.</summary>
    private async Task<PspRefund?> FindAsync(RefundRecord refund, PaymentRecord payment, CancellationToken cancellationToken)
    {
        try
        {
            return await psp.FindRefundAsync(payment.PspReference!, refund.Id, _options.MaxRefundsPerPayment, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PspUnavailableException or PspRequestRejectedException or OperationCanceledException)
        {
            return null;
        }
    }

    private Func<RefundRecord, IReadOnlyList<ITransitionCommand>> Completion(IdempotencyLease lease) =>
        after => [lease.Completion(_ => Answer(after), clock.GetUtcNow())];

    private static IdempotentAnswer Decided(RefundResult result, RefundRecord refund) => result.Kind switch
    {
        RefundResultKind.Applied or RefundResultKind.Unchanged => Answer(result.Refund!),
        // The key stays processing: a retry after the lease asks the PSP again; the sweeper resolves it meanwhile.
        RefundResultKind.Mismatch => new IdempotentAnswer(StatusCodes.Status202Accepted, result.Refund!.ToJson(), Final: false),
        _ => throw new InvalidOperationException($"refund {refund.Id} kept changing under us ({result.Kind})"),
    };

    /// <summary>Every refund the PSP made answers 201 with its status (pending ones are decided later, by webhook or sweeper).</summary>
    public static IdempotentAnswer Answer(RefundRecord refund) => new(StatusCodes.Status201Created, refund.ToJson(), Final: true);

    /// <summary>The one PSP request of a refund, whoever sends it (this flow, a resume, the sweeper): the same parameters under the same key.</summary>
    public static PspRefundRequest Request(RefundRecord refund, PaymentRecord payment) => new(
        IdempotencyKey: refund.Id.ToString(),
        PspReference: payment.PspReference ?? throw new InvalidOperationException($"captured payment {payment.Id} has no PSP reference"),
        AmountMinor: refund.AmountMinor,
        CurrencyCode: refund.CurrencyCode,
        Reason: refund.Reason,
        Metadata: new Dictionary<string, string> { ["payrail_refund_id"] = refund.Id.ToString(), ["payrail_payment_id"] = payment.Id.ToString() });

    /// <summary>The refund cannot be made (state, amount): a 409 problem, final, kept as the key's answer with nothing else written.</summary>
    private async Task<IdempotentAnswer> RefuseAsync(IdempotencyLease lease, PaymentRecord payment, string code)
    {
        var answer = RefundProblems.Refusal(payment, code);
        var recorded = await transitions.RecordAsync(payment, [lease.Completion(_ => answer, clock.GetUtcNow())]).ConfigureAwait(false);
        return recorded.Committed ? answer : throw new InvalidOperationException($"payment {payment.Id} kept changing under us");
    }
}

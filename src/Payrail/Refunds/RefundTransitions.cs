using Microsoft.Extensions.Options;
using Payrail.Domain.Refunds;
using Payrail.Payments;
using Payrail.Psp;

namespace Payrail.Refunds;

/// <summary>What applying the PSP's word to a refund came to.</summary>
public enum RefundResultKind
{
    /// <summary>The refund moved (and its payment's amounts with it).</summary>
    Applied,

    /// <summary>The refund already was there or past it; the commands (if any) committed against it as it stands.</summary>
    Unchanged,

    /// <summary>The PSP's answer disagrees with the refund (another amount, currency or PSP refund): nothing written.</summary>
    Mismatch,

    /// <summary>The refund or its payment kept changing under us for every re-read allowed: nothing written.</summary>
    GaveUp,

    /// <summary>No refund has this id: nothing written.</summary>
    NotFound,
}

public sealed record RefundResult(RefundResultKind Kind, RefundRecord? Refund);

/// <summary>What the PSP says of one refund: its status and what the row records of it.</summary>
public sealed record RefundWord(RefundStatus Status, string? PspRefundId, string? FailureReason)
{
    public static RefundWord From(PspRefund refund) => new(refund.Status switch
    {
        PspRefundStatus.Succeeded => RefundStatus.Succeeded,
        PspRefundStatus.Failed => RefundStatus.Failed,
        PspRefundStatus.Canceled => RefundStatus.Canceled,
        _ => RefundStatus.Pending, // pending, or a status we do not know: not decided
    }, refund.RefundReference, refund.FailureReason);
}

/// <summary>
/// The one path by which a refund changes — its synchronous PSP answer, a webhook, the sweeper: the refund lifecycle
/// (<see cref="RefundLifecycle"/>) decides, and the refund's row moves in the batch of its payment's change
/// (<see cref="PaymentTransitions"/>, version-checked) with the caller's commands. The refund's own update is conditional
/// on the version it was read at; when either moved, both are re-read, at most <see cref="RefundsOptions.MaxRereads"/> times.
/// </summary>
public sealed class RefundTransitions(RefundStore refunds, PaymentStore payments, PaymentTransitions transitions,
    IOptions<RefundsOptions> options, TimeProvider clock, ILogger<RefundTransitions> logger)
{
    private readonly int _maxRereads = options.Value.MaxRereads;

    /// <summary>
    /// A PSP answer about refund <paramref name="refundId"/>, checked against it first: another amount, currency or PSP
    /// refund id never moves our books.
    /// </summary>
    public Task<RefundResult> ApplyAsync(Guid refundId, PspRefund answer, string cause, Func<RefundRecord, IReadOnlyList<ITransitionCommand>>? with = null) =>
        ApplyAsync(refundId, RefundWord.From(answer), cause, with, refund => Mismatch(refund, answer));

    /// <summary>
    /// Moves the refund as <paramref name="word"/> says, with the commands <paramref name="with"/> makes from the refund as
    /// the batch leaves it (e.g. the request's idempotency key completed with that refund as the answer).
    /// </summary>
    public async Task<RefundResult> ApplyAsync(Guid refundId, RefundWord word, string cause,
        Func<RefundRecord, IReadOnlyList<ITransitionCommand>>? with = null, Func<RefundRecord, string?>? mismatch = null)
    {
        for (var attempt = 0; attempt <= _maxRereads; attempt++)
        {
            var refund = await refunds.FindAsync(refundId).ConfigureAwait(false);
            if (refund is null) return new RefundResult(RefundResultKind.NotFound, null);
            if (mismatch?.Invoke(refund) is { } field)
            {
                logger.LogError("PSP answer about refund {RefundId} disagrees with it on {Field}; ignored", refund.Id, field);
                return new RefundResult(RefundResultKind.Mismatch, refund);
            }
            var payment = await payments.FindAsync(refund.PaymentId).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"refund {refund.Id} refers to a payment that does not exist");

            var step = RefundLifecycle.Apply(refund.Status, word.Status);
            var moves = step.Outcome == RefundStepOutcome.Accepted;
            var after = refund with
            {
                Status = moves ? word.Status : refund.Status,
                PspRefundId = refund.PspRefundId ?? word.PspRefundId,
                FailureReason = moves && word.Status.IsFinal() ? word.FailureReason ?? "unknown" : refund.FailureReason,
                Version = refund.Version + 1,
                UpdatedAt = PaymentRecord.ToDatabasePrecision(clock.GetUtcNow()),
            };
            var learned = after.PspRefundId != refund.PspRefundId;
            List<ITransitionCommand> commands = moves || learned ? [new UpdateRefund(refund, after)] : [];
            var answer = moves || learned ? after : refund;
            if (with is not null) commands.AddRange(with(answer));

            if (!moves)
            {
                if (commands.Count == 0) return new RefundResult(RefundResultKind.Unchanged, refund);
                var recorded = await transitions.RecordAsync(payment, commands).ConfigureAwait(false);
                if (recorded.Committed) return new RefundResult(RefundResultKind.Unchanged, answer);
                continue; // the refund moved meanwhile: re-read both
            }

            // A refund reserved with a backing in the settlement currency moves with it (the accounts its hold was drawn on).
            var backing = await refunds.BackingAsync(refund.PaymentId, refund.Id).ConfigureAwait(false);
            var result = await transitions.ApplyAsync(payment,
                PaymentTransition.Of(new RefundChange(refund.Id, step.Move!.Value, refund.AmountMinor, backing), refund.Psp, cause), commands).ConfigureAwait(false);
            if (result.Kind == TransitionResultKind.Applied) return new RefundResult(RefundResultKind.Applied, after);
            // Refused with refund_moved, or gave up: our read of the refund is older than its payment's. Re-read both.
            if (result.Kind == TransitionResultKind.Refused && result.Rejection?.Code != PaymentRefunds.RefundMovedCode)
                throw new InvalidOperationException(
                    $"refund {refund.Id} ({step.From}→{step.To}) refused by its payment's amounts: {result.Rejection?.Code}");
        }
        return new RefundResult(RefundResultKind.GaveUp, null);
    }

    private static string? Mismatch(RefundRecord refund, PspRefund answer)
    {
        if (answer.AmountMinor != refund.AmountMinor) return "amount";
        if (!string.Equals(answer.CurrencyCode, refund.CurrencyCode, StringComparison.Ordinal)) return "currency";
        if (refund.PspRefundId is { } known && known != answer.RefundReference) return "psp_refund_id";
        if (answer.RefundId is { } id && id != refund.Id) return "payrail_refund_id";
        return null;
    }
}

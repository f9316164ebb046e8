using Payrail.Domain.Payments;

namespace Payrail.Domain.Refunds;

/// <summary>
/// The refund amounts of one payment: captured, refunded (succeeded refunds only), reserved by pending refunds, and the
/// status the payment had before it became REFUNDED (to return to if a refund fails afterwards).
/// Invariant: 0 ≤ refunded, 0 ≤ pending, refunded + pending ≤ captured; REFUNDED exactly when refunded = captured > 0.
/// </summary>
public readonly record struct RefundBalance(PaymentStatus Status, long CapturedMinor, long RefundedMinor, long PendingMinor, PaymentStatus? RefundedFrom)
{
    /// <summary>What a new refund may still take: captured minus refunded minus what pending refunds hold.</summary>
    public long RefundableMinor => CapturedMinor - RefundedMinor - PendingMinor;

    /// <summary>Null when the invariant holds, else what breaks it (a bug: nothing is planned on such a balance).</summary>
    public string? Broken()
    {
        if (RefundedMinor < 0 || PendingMinor < 0 || CapturedMinor < 0) return "a negative amount";
        if (RefundedMinor > CapturedMinor - PendingMinor) return "refunded plus pending above captured";
        var refunded = Status == PaymentStatus.Refunded;
        if (refunded != (CapturedMinor > 0 && RefundedMinor == CapturedMinor)) return "status refunded without the whole capture refunded, or the reverse";
        if (refunded != (RefundedFrom is not null)) return "refunded_from set outside the refunded status";
        if (RefundedFrom is not null and not (PaymentStatus.Captured or PaymentStatus.Settled)) return "refunded from a status that holds no capture";
        return null;
    }
}

/// <summary>The answer of <see cref="PaymentRefunds.Apply"/>: the balance after, the status steps to record, or why not.</summary>
public sealed record RefundPlan(RefundBalance Before, RefundBalance After, IReadOnlyList<TransitionStep> Steps, TransitionRejection? Rejection)
{
    public bool IsAccepted => Rejection is null;
}

/// <summary>
/// The partial-refund notion of the state machine, a pure function: what a refund's move does to its payment. Partial
/// refunds keep the status and only move amounts; the succeeded refund that reaches the captured amount moves the payment
/// CAPTURED|SETTLED → REFUNDED (the state machine's Refunded event); a refund failing after it succeeded returns a
/// REFUNDED payment to the status it came from (the one way out of REFUNDED: the money came back to the merchant).
/// Pending refunds reserve their amount, so refunds racing for the last remaining amount cannot exceed the capture:
/// the reservation is checked here and written with the payment's version-checked update (and the database CHECK of
/// migration 0018 says the same a second time).
/// </summary>
public static class PaymentRefunds
{
    /// <summary>The payment holds no capture to refund (not captured yet, voided, failed, or wholly refunded).</summary>
    public const string NotRefundableCode = "not_refundable";

    /// <summary>The amount is above what remains refundable (captured − refunded − pending).</summary>
    public const string ExceedsRefundableCode = "exceeds_refundable";

    /// <summary>
    /// The merchant's payable balance in the payment's currency cannot hold the refund and may not go negative: the ledger
    /// refused the refund's hold (debits_must_not_exceed_credits), nothing was written and the PSP was not asked.
    /// </summary>
    public const string ExceedsPayableCode = "exceeds_payable";

    /// <summary>
    /// The balance does not hold what the refund's move takes back (its reservation, its refunded amount): the refund was
    /// read before another change of it committed. Re-read both and decide again.
    /// </summary>
    public const string RefundMovedCode = "refund_moved";

    public static RefundPlan Apply(RefundBalance before, RefundMove move, long amountMinor)
    {
        if (amountMinor <= 0) throw new ArgumentOutOfRangeException(nameof(amountMinor), amountMinor, "A refund amount is positive minor units.");
        if (before.Broken() is { } broken) throw new InvalidOperationException($"Refund balance is broken: {broken}.");
        return move switch
        {
            RefundMove.Reserve => Reserve(before, amountMinor),
            RefundMove.Succeed => Succeed(before, amountMinor),
            RefundMove.Release => before.PendingMinor < amountMinor
                ? Rejected(before, RefundMovedCode, "The refund's reservation is no longer held.")
                : Accepted(before, before with { PendingMinor = before.PendingMinor - amountMinor }, []),
            RefundMove.Reverse => Reverse(before, amountMinor),
            _ => throw new ArgumentOutOfRangeException(nameof(move), move, "Unknown refund move."),
        };
    }

    private static RefundPlan Reserve(RefundBalance before, long amountMinor)
    {
        if (before.Status is not (PaymentStatus.Captured or PaymentStatus.Settled))
            return Rejected(before, NotRefundableCode, $"A payment that is {before.Status.ToWire()} cannot be refunded.");
        if (amountMinor > before.RefundableMinor)
            return Rejected(before, ExceedsRefundableCode, "The amount is above what remains refundable.");
        return Accepted(before, before with { PendingMinor = before.PendingMinor + amountMinor }, []);
    }

    private static RefundPlan Succeed(RefundBalance before, long amountMinor)
    {
        if (before.PendingMinor < amountMinor) return Rejected(before, RefundMovedCode, "The refund's reservation is no longer held.");
        var after = before with { PendingMinor = before.PendingMinor - amountMinor, RefundedMinor = before.RefundedMinor + amountMinor };
        if (after.RefundedMinor < after.CapturedMinor) return Accepted(before, after, []);
        // Pending > 0 means the whole capture was not refunded yet, so the payment is captured or settled here.
        var transition = PaymentStateMachine.Apply(before.Status, PaymentEvent.Refunded);
        if (!transition.IsAccepted) throw new InvalidOperationException($"A refund completed a payment that is {before.Status.ToWire()}.");
        return Accepted(before, after with { Status = transition.To, RefundedFrom = before.Status }, transition.Steps);
    }

    private static RefundPlan Reverse(RefundBalance before, long amountMinor)
    {
        if (before.RefundedMinor < amountMinor) return Rejected(before, RefundMovedCode, "The refund's refunded amount is no longer counted.");
        var after = before with { RefundedMinor = before.RefundedMinor - amountMinor };
        if (before.RefundedFrom is not { } from) return Accepted(before, after, []);
        return Accepted(before, after with { Status = from, RefundedFrom = null }, [new TransitionStep(PaymentStatus.Refunded, from)]);
    }

    private static RefundPlan Accepted(RefundBalance before, RefundBalance after, IReadOnlyList<TransitionStep> steps) =>
        new(before, after, steps, null);

    private static RefundPlan Rejected(RefundBalance before, string code, string message) =>
        new(before, before, [], new TransitionRejection(code, message));
}

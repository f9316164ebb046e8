using static Payrail.Domain.Refunds.RefundStatus;

namespace Payrail.Domain.Refunds;

/// <summary>What a refund's change does to its payment's amounts (<see cref="PaymentRefunds"/>).</summary>
public enum RefundMove
{
    /// <summary>A new refund holds its amount out of what can be refunded, before the PSP is asked.</summary>
    Reserve,

    /// <summary>A pending refund succeeded: its reserved amount becomes refunded.</summary>
    Succeed,

    /// <summary>A pending refund failed or was canceled: its reserved amount can be refunded again.</summary>
    Release,

    /// <summary>
    /// A succeeded refund failed afterwards (Stripe's refund_failure: the card was closed, the bank sent it back): the
    /// refunded amount comes back to the merchant and can be refunded again.
    /// </summary>
    Reverse,
}

public enum RefundStepOutcome
{
    /// <summary>The refund moves; <see cref="RefundStep.Move"/> says what that does to the payment.</summary>
    Accepted,

    /// <summary>The refund already is there (a replayed webhook): change nothing.</summary>
    AlreadyApplied,

    /// <summary>The refund has passed there (a late webhook of an earlier state): change nothing.</summary>
    Stale,
}

/// <summary>The answer of <see cref="RefundLifecycle.Apply"/>.</summary>
public sealed record RefundStep(RefundStatus From, RefundStatus To, RefundStepOutcome Outcome, RefundMove? Move);

/// <summary>
/// A refund's lifecycle as a pure function: pending → succeeded | failed | canceled, and succeeded → failed | canceled
/// (Stripe fails a succeeded card refund when the bank returns it). Every pair is written out. The order is monotone
/// (pending, then succeeded, then failed or canceled), so a PSP report of an earlier state than the refund's is stale and
/// reordered webhooks cannot move a refund back; failed and canceled never move.
/// </summary>
public static class RefundLifecycle
{
    private static readonly Dictionary<(RefundStatus From, RefundStatus To), (RefundStepOutcome Outcome, RefundMove? Move)> Table = new()
    {
        [(Pending, Pending)] = (RefundStepOutcome.AlreadyApplied, null),
        [(Pending, Succeeded)] = (RefundStepOutcome.Accepted, RefundMove.Succeed),
        [(Pending, Failed)] = (RefundStepOutcome.Accepted, RefundMove.Release),
        [(Pending, Canceled)] = (RefundStepOutcome.Accepted, RefundMove.Release),

        [(Succeeded, Pending)] = (RefundStepOutcome.Stale, null),
        [(Succeeded, Succeeded)] = (RefundStepOutcome.AlreadyApplied, null),
        [(Succeeded, Failed)] = (RefundStepOutcome.Accepted, RefundMove.Reverse),
        [(Succeeded, Canceled)] = (RefundStepOutcome.Accepted, RefundMove.Reverse),

        [(Failed, Pending)] = (RefundStepOutcome.Stale, null),
        [(Failed, Succeeded)] = (RefundStepOutcome.Stale, null),
        [(Failed, Failed)] = (RefundStepOutcome.AlreadyApplied, null),
        [(Failed, Canceled)] = (RefundStepOutcome.Stale, null),

        [(Canceled, Pending)] = (RefundStepOutcome.Stale, null),
        [(Canceled, Succeeded)] = (RefundStepOutcome.Stale, null),
        [(Canceled, Failed)] = (RefundStepOutcome.Stale, null),
        [(Canceled, Canceled)] = (RefundStepOutcome.AlreadyApplied, null),
    };

    public static RefundStep Apply(RefundStatus from, RefundStatus to)
    {
        if (!Table.TryGetValue((from, to), out var rule))
            throw new ArgumentOutOfRangeException(nameof(to), to, $"Unknown refund status pair ({from}, {to}).");
        return new RefundStep(from, to, rule.Outcome, rule.Move);
    }
}

using static Payrail.Domain.Payments.PaymentEvent;
using static Payrail.Domain.Payments.PaymentStatus;

namespace Payrail.Domain.Payments;

/// <summary>
/// The payment state machine as a pure function (DESIGN.md "State machine"):
/// INITIATED → PROCESSING → AUTHORIZED → CAPTURED → SETTLED; INITIATED|PROCESSING → FAILED;
/// AUTHORIZED → VOIDED; CAPTURED → REFUNDED; SETTLED → REFUNDED.
/// FAILED, VOIDED and REFUNDED never move. SETTLED only accepts a refund.
/// </summary>
public static class PaymentStateMachine
{
    /// <summary>
    /// Every (status, event) pair that is not a rejection, written out. A path lists each status
    /// the payment passes through, so a PSP answer that jumps ahead (captured at once) records
    /// every intermediate step and the ledger posts authorize and capture in order.
    /// Stale: the payment already passed the event's status (a late webhook); no-op.
    /// Pairs not listed are rejected: terminal_state from FAILED/VOIDED/REFUNDED, else invalid_transition.
    /// </summary>
    private static readonly Dictionary<(PaymentStatus From, PaymentEvent Event), Rule> Table = new()
    {
        [(Initiated, PspAccepted)] = Path(Initiated, Processing),
        [(Initiated, PaymentEvent.Authorized)] = Path(Initiated, Processing, PaymentStatus.Authorized),
        [(Initiated, PaymentEvent.Captured)] = Path(Initiated, Processing, PaymentStatus.Authorized, PaymentStatus.Captured),
        [(Initiated, PaymentEvent.Settled)] = Path(Initiated, Processing, PaymentStatus.Authorized, PaymentStatus.Captured, PaymentStatus.Settled),
        [(Initiated, PaymentEvent.Failed)] = Path(Initiated, PaymentStatus.Failed),
        [(Initiated, PaymentEvent.Voided)] = Path(Initiated, Processing, PaymentStatus.Authorized, PaymentStatus.Voided),
        [(Initiated, PaymentEvent.Refunded)] = Path(Initiated, Processing, PaymentStatus.Authorized, PaymentStatus.Captured, PaymentStatus.Refunded),

        [(Processing, PspAccepted)] = Rule.AlreadyApplied,
        [(Processing, PaymentEvent.Authorized)] = Path(Processing, PaymentStatus.Authorized),
        [(Processing, PaymentEvent.Captured)] = Path(Processing, PaymentStatus.Authorized, PaymentStatus.Captured),
        [(Processing, PaymentEvent.Settled)] = Path(Processing, PaymentStatus.Authorized, PaymentStatus.Captured, PaymentStatus.Settled),
        [(Processing, PaymentEvent.Failed)] = Path(Processing, PaymentStatus.Failed),
        [(Processing, PaymentEvent.Voided)] = Path(Processing, PaymentStatus.Authorized, PaymentStatus.Voided),
        [(Processing, PaymentEvent.Refunded)] = Path(Processing, PaymentStatus.Authorized, PaymentStatus.Captured, PaymentStatus.Refunded),

        [(PaymentStatus.Authorized, PspAccepted)] = Rule.Stale,
        [(PaymentStatus.Authorized, PaymentEvent.Authorized)] = Rule.AlreadyApplied,
        [(PaymentStatus.Authorized, PaymentEvent.Captured)] = Path(PaymentStatus.Authorized, PaymentStatus.Captured),
        [(PaymentStatus.Authorized, PaymentEvent.Settled)] = Path(PaymentStatus.Authorized, PaymentStatus.Captured, PaymentStatus.Settled),
        [(PaymentStatus.Authorized, PaymentEvent.Voided)] = Path(PaymentStatus.Authorized, PaymentStatus.Voided),
        [(PaymentStatus.Authorized, PaymentEvent.Refunded)] = Path(PaymentStatus.Authorized, PaymentStatus.Captured, PaymentStatus.Refunded),

        [(PaymentStatus.Captured, PspAccepted)] = Rule.Stale,
        [(PaymentStatus.Captured, PaymentEvent.Authorized)] = Rule.Stale,
        [(PaymentStatus.Captured, PaymentEvent.Captured)] = Rule.AlreadyApplied,
        [(PaymentStatus.Captured, PaymentEvent.Settled)] = Path(PaymentStatus.Captured, PaymentStatus.Settled),
        [(PaymentStatus.Captured, PaymentEvent.Refunded)] = Path(PaymentStatus.Captured, PaymentStatus.Refunded),

        [(PaymentStatus.Settled, PspAccepted)] = Rule.Stale,
        [(PaymentStatus.Settled, PaymentEvent.Authorized)] = Rule.Stale,
        [(PaymentStatus.Settled, PaymentEvent.Captured)] = Rule.Stale,
        [(PaymentStatus.Settled, PaymentEvent.Settled)] = Rule.AlreadyApplied,
        [(PaymentStatus.Settled, PaymentEvent.Refunded)] = Path(PaymentStatus.Settled, PaymentStatus.Refunded),

        // Initiated → Failed skips Processing, so only a late PspAccepted is stale here.
        [(PaymentStatus.Failed, PspAccepted)] = Rule.Stale,
        [(PaymentStatus.Failed, PaymentEvent.Failed)] = Rule.AlreadyApplied,

        [(PaymentStatus.Voided, PspAccepted)] = Rule.Stale,
        [(PaymentStatus.Voided, PaymentEvent.Authorized)] = Rule.Stale,
        [(PaymentStatus.Voided, PaymentEvent.Voided)] = Rule.AlreadyApplied,

        // A settlement report may list a payment refunded before payout: it passed SETTLED or skipped it; no-op.
        [(PaymentStatus.Refunded, PspAccepted)] = Rule.Stale,
        [(PaymentStatus.Refunded, PaymentEvent.Authorized)] = Rule.Stale,
        [(PaymentStatus.Refunded, PaymentEvent.Captured)] = Rule.Stale,
        [(PaymentStatus.Refunded, PaymentEvent.Settled)] = Rule.Stale,
        [(PaymentStatus.Refunded, PaymentEvent.Refunded)] = Rule.AlreadyApplied,
    };

    public static Transition Apply(PaymentStatus from, PaymentEvent e)
    {
        if (!Enum.IsDefined(from))
        {
            throw new ArgumentOutOfRangeException(nameof(from), from, "Unknown payment status.");
        }

        if (!Enum.IsDefined(e))
        {
            throw new ArgumentOutOfRangeException(nameof(e), e, "Unknown payment event.");
        }

        if (Table.TryGetValue((from, e), out var rule))
        {
            return new Transition { From = from, Event = e, Outcome = rule.Outcome, Steps = rule.Steps };
        }

        var rejection = from.IsTerminal()
            ? new TransitionRejection(
                TransitionRejection.TerminalStateCode,
                $"Payment is {from.ToWire()}, a final state; event {e} cannot move it.")
            : new TransitionRejection(
                TransitionRejection.InvalidTransitionCode,
                $"Event {e} is not allowed for a payment that is {from.ToWire()}.");
        return new Transition { From = from, Event = e, Outcome = TransitionOutcome.Rejected, Rejection = rejection };
    }

    private static Rule Path(params PaymentStatus[] statuses)
    {
        var steps = new TransitionStep[statuses.Length - 1];
        for (var i = 0; i < steps.Length; i++)
        {
            steps[i] = new TransitionStep(statuses[i], statuses[i + 1]);
        }

        // Read-only wrapper: the table is shared, no caller may edit a path through a cast.
        return new Rule(TransitionOutcome.Accepted, Array.AsReadOnly(steps));
    }

    private sealed record Rule(TransitionOutcome Outcome, IReadOnlyList<TransitionStep> Steps)
    {
        public static readonly Rule AlreadyApplied = new(TransitionOutcome.AlreadyApplied, []);
        public static readonly Rule Stale = new(TransitionOutcome.Stale, []);
    }
}

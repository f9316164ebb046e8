namespace Payrail.Domain.Payments;

public enum TransitionOutcome
{
    /// <summary>The event moves the payment; <see cref="Transition.Steps"/> holds every step to record.</summary>
    Accepted,

    /// <summary>The payment is already where the event leads (a replayed webhook): change nothing.</summary>
    AlreadyApplied,

    /// <summary>The payment has already passed where the event leads (out-of-order webhook): change nothing.</summary>
    Stale,

    /// <summary>The event is impossible from this status; see <see cref="Transition.Rejection"/>.</summary>
    Rejected,
}

/// <summary>One recorded status change.</summary>
public readonly record struct TransitionStep(PaymentStatus From, PaymentStatus To);

/// <summary>Why an event was refused; <see cref="Code"/> is stable for API errors and logs.</summary>
public sealed record TransitionRejection(string Code, string Message)
{
    public const string InvalidTransitionCode = "invalid_transition";
    public const string TerminalStateCode = "terminal_state";
}

/// <summary>The answer of <see cref="PaymentStateMachine.Apply"/>.</summary>
public sealed record Transition
{
    public required PaymentStatus From { get; init; }
    public required PaymentEvent Event { get; init; }
    public required TransitionOutcome Outcome { get; init; }

    /// <summary>Ordered steps to record, in order; empty unless <see cref="Outcome"/> is Accepted.</summary>
    public IReadOnlyList<TransitionStep> Steps { get; init; } = [];

    public TransitionRejection? Rejection { get; init; }

    /// <summary>The status after the event: the last step's target, or <see cref="From"/> when nothing moves.</summary>
    public PaymentStatus To => Steps.Count == 0 ? From : Steps[^1].To;

    public bool IsAccepted => Outcome == TransitionOutcome.Accepted;

    /// <summary>Already applied or stale: answer success, write nothing.</summary>
    public bool IsNoOp => Outcome is TransitionOutcome.AlreadyApplied or TransitionOutcome.Stale;

    public bool IsRejected => Outcome == TransitionOutcome.Rejected;
}

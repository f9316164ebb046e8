using Payrail.Domain.Ledger;
using Payrail.Domain.Money;
using Payrail.Domain.Payments;
using Payrail.Domain.Refunds;
using Payrail.Outbox;
using Payrail.Psp;

namespace Payrail.Payments;

/// <summary>What the PSP said, as a state machine event plus the facts the payment row records.</summary>
public sealed record PspOutcome(PaymentEvent Event, string? PspReference, long AmountCapturedMinor, string? FailureCode, string? FailureMessage)
{
    /// <summary>The PSP waits on the buyer (3-D Secure) at this URL: kept on the payment while it is processing.</summary>
    public string? NextActionUrl { get; init; }

    public static PspOutcome From(PspPayment payment) => payment.Status switch
    {
        PspPaymentStatus.Captured => new(PaymentEvent.Captured, payment.PspReference,
            payment.AmountCapturedMinor > 0 ? payment.AmountCapturedMinor : payment.AmountMinor, null, null),
        PspPaymentStatus.Authorized => new(PaymentEvent.Authorized, payment.PspReference, 0, null, null),
        PspPaymentStatus.Failed => new(PaymentEvent.Failed, payment.PspReference, 0,
            payment.FailureCode ?? "declined", payment.FailureMessage ?? "The payment was declined."),
        // Canceled before any authorization (e.g. 3-D Secure abandoned): for the buyer the payment failed.
        PspPaymentStatus.Canceled => new(PaymentEvent.Failed, payment.PspReference, 0, "canceled", "The payment was canceled at the PSP."),
        _ => new(PaymentEvent.PspAccepted, payment.PspReference, 0, null, null) { NextActionUrl = RedirectUrl(payment.NextActionUrl) },
    };

    /// <summary>Bound of a stored next-action URL (the CHECK of migration 0013).</summary>
    public const int MaxNextActionUrlLength = 2_048;

    /// <summary>The buyer's browser follows it: only an absolute http(s) URL within the bound, else none.</summary>
    private static string? RedirectUrl(string? url) =>
        url is { Length: > 0 and <= MaxNextActionUrlLength } && Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp) ? url : null;

    /// <summary>
    /// As <see cref="From(PspPayment)"/>, for the payment as it stands: a cancel at the PSP of a payment recorded as
    /// authorized (an expired hold, a void) releases the authorization (→ Voided, the pending transfer voided); before
    /// any authorization it stays a failure.
    /// </summary>
    public static PspOutcome For(PaymentRecord current, PspPayment payment) =>
        payment.Status == PspPaymentStatus.Canceled && current.Status == PaymentStatus.Authorized
            ? new(PaymentEvent.Voided, payment.PspReference, 0, null, null)
            : From(payment);

    /// <summary>The PSP refused the request itself (not a decline of the card, but e.g. an unusable payment method).</summary>
    public static PspOutcome From(PspRequestRejectedException rejected) =>
        new(PaymentEvent.Failed, null, 0, rejected.Code, "The PSP refused the payment request.");

    /// <summary>No answer in time: the PSP may still decide, so the payment only moves to processing.</summary>
    public static PspOutcome Unknown { get; } = new(PaymentEvent.PspAccepted, null, 0, null, null);
}

/// <summary>
/// One accepted state change of a payment, ready to be written in one transaction: the new row,
/// every intermediate transition, the ledger journal entries and the outbox events.
/// </summary>
public sealed record PaymentChange(
    PaymentRecord Before,
    PaymentRecord After,
    IReadOnlyList<TransitionStep> Steps,
    string Cause,
    IReadOnlyList<IReadOnlyList<TransferDraft>> JournalEntries,
    IReadOnlyList<OutboxEvent> Events)
{
    /// <summary>
    /// Runs the pure state machine and the posting rules. Null when the event changes nothing
    /// (already applied, stale or refused by the machine): the payment stays as it is.
    /// </summary>
    public static PaymentChange? Plan(PaymentRecord current, PspOutcome outcome, string psp, string cause, DateTimeOffset now)
    {
        var transition = PaymentStateMachine.Apply(current.Status, outcome.Event);
        if (!transition.IsAccepted) return null;

        var steps = transition.Steps;
        var failed = transition.To == PaymentStatus.Failed;
        var after = current with
        {
            Status = transition.To,
            Psp = psp,
            PspReference = outcome.PspReference ?? current.PspReference,
            AmountCapturedMinor = steps.Any(s => s.To == PaymentStatus.Captured) ? outcome.AmountCapturedMinor : current.AmountCapturedMinor,
            FailureCode = failed ? outcome.FailureCode : current.FailureCode,
            FailureMessage = failed ? outcome.FailureMessage : current.FailureMessage,
            // Meaningful only while processing: the PSP's decision ends what the buyer had to do.
            NextActionUrl = transition.To == PaymentStatus.Processing ? outcome.NextActionUrl ?? current.NextActionUrl : null,
            // The row's CHECK (migration 0018): a refunded payment says where it came from. Refund objects reach REFUNDED
            // through PlanRefund; this is a PSP event naming the status itself.
            RefundedFrom = transition.To == PaymentStatus.Refunded ? steps[^1].From : current.RefundedFrom,
            Version = current.Version + 1,
            UpdatedAt = now,
        };
        return new PaymentChange(current, after, steps, cause, Journal(after, steps), EventsFor(after, steps, now));
    }

    /// <summary>
    /// A refund's move on its payment (<see cref="PaymentRefunds.Apply"/>): the amounts, the status steps when the last
    /// amount is refunded or a refund of a REFUNDED payment fails, the ledger and the events. Null when the move is
    /// refused (nothing to write).
    /// Ledger: the reservation holds the refund's amount as a pending transfer merchant → buyer, in this same batch, so a
    /// strict merchant's flag (debits_must_not_exceed_credits counts debits_pending) refuses a refund its payable cannot
    /// take atomically with every other refund of that merchant, before the PSP is asked (PR004 → 409, nothing written).
    /// Success posts the hold, failure or cancel before success voids it; a refund failing after it succeeded (Stripe's
    /// refund_failure) keeps its posted transfer and gets a reversing one (buyer → merchant).
    /// </summary>
    public static PaymentChange? PlanRefund(PaymentRecord current, RefundChange refund, string cause, DateTimeOffset now)
    {
        var plan = PaymentRefunds.Apply(current.RefundBalance, refund.Move, refund.AmountMinor);
        if (!plan.IsAccepted) return null;
        var after = current with
        {
            Status = plan.After.Status,
            AmountRefundedMinor = plan.After.RefundedMinor,
            AmountRefundPendingMinor = plan.After.PendingMinor,
            RefundedFrom = plan.After.RefundedFrom,
            Version = current.Version + 1,
            UpdatedAt = now,
        };
        var rules = new LedgerPostingRules(after.Id, after.BuyerId, after.MerchantId, Currency.FromCode(after.CurrencyCode));
        List<IReadOnlyList<TransferDraft>> journal = refund.Move switch
        {
            // A backed refund (RefundChange.Backing): its estimate in the settlement currency first, the transfer the flag checks.
            RefundMove.Reserve when refund.Backing is { } backing =>
                [rules.RefundFxEstimate(refund.RefundId, backing), rules.RefundHold(refund.RefundId, refund.AmountMinor, backing)],
            RefundMove.Reserve => [rules.RefundHold(refund.RefundId, refund.AmountMinor)],
            RefundMove.Succeed => [rules.Refund(refund.RefundId, refund.AmountMinor, refund.Backing)],
            RefundMove.Release when refund.Backing is { } backing =>
                [rules.RefundRelease(refund.RefundId, refund.AmountMinor, backing), rules.RefundFxEstimateRelease(refund.RefundId, backing)],
            RefundMove.Release => [rules.RefundRelease(refund.RefundId, refund.AmountMinor)],
            RefundMove.Reverse => [rules.RefundFailure(refund.RefundId, refund.AmountMinor, refund.Backing)],
            _ => throw new ArgumentOutOfRangeException(nameof(refund), refund.Move, "Unknown refund move."),
        };
        // One payment.refunded per succeeded refund, partial ones included, and one payment.refund_reversed per refund that
        // came back after it succeeded, each carrying the refund (schema 1, optional field).
        var type = refund.Move switch
        {
            RefundMove.Succeed => EventTypes.PaymentRefunded,
            RefundMove.Reverse => EventTypes.PaymentRefundReversed,
            _ => null,
        };
        List<OutboxEvent> events = type is null ? []
            : [OutboxEvent.For(type, after, plan.Steps.Count > 0 ? plan.Steps[^1] : null, now) with
                { Refund = new RefundSnapshot(refund.RefundId, refund.AmountMinor) }];
        return new PaymentChange(current, after, plan.Steps, cause, journal, events);
    }

    private static List<IReadOnlyList<TransferDraft>> Journal(PaymentRecord after, IReadOnlyList<TransitionStep> steps)
    {
        var rules = new LedgerPostingRules(after.Id, after.BuyerId, after.MerchantId, Currency.FromCode(after.CurrencyCode));
        var authorizedNow = steps.Any(s => s.To == PaymentStatus.Authorized);
        var capturedNow = steps.Any(s => s.To == PaymentStatus.Captured);
        var entries = new List<IReadOnlyList<TransferDraft>>();
        // Automatic capture answered in one PSP call: one posted transfer, no hold to release.
        if (authorizedNow && capturedNow && after.Capture == CaptureMethod.Automatic)
        {
            entries.Add(rules.Purchase(after.AmountCapturedMinor));
            return entries;
        }
        foreach (var step in steps)
        {
            switch (step.To)
            {
                case PaymentStatus.Authorized:
                    entries.Add(rules.Authorize(after.AmountMinor));
                    break;
                case PaymentStatus.Captured:
                    entries.Add(rules.Capture(rules.AuthorizationId, after.AmountMinor, after.AmountCapturedMinor));
                    break;
                case PaymentStatus.Voided:
                    entries.Add(rules.Void(rules.AuthorizationId, after.AmountMinor));
                    break;
            }
        }
        return entries;
    }

    private static List<OutboxEvent> EventsFor(PaymentRecord after, IReadOnlyList<TransitionStep> steps, DateTimeOffset now)
    {
        var events = new List<OutboxEvent>();
        foreach (var step in steps)
        {
            switch (step.To)
            {
                case PaymentStatus.Authorized: events.Add(Event(EventTypes.PaymentAuthorized, after, step, now)); break;
                case PaymentStatus.Captured:
                    events.Add(Event(EventTypes.PaymentCaptured, after, step, now));
                    events.Add(Event(EventTypes.PaymentCompleted, after, step, now));
                    break;
                case PaymentStatus.Failed: events.Add(Event(EventTypes.PaymentFailed, after, step, now)); break;
                case PaymentStatus.Voided: events.Add(Event(EventTypes.PaymentVoided, after, step, now)); break;
                case PaymentStatus.Settled: events.Add(Event(EventTypes.PaymentSettled, after, step, now)); break;
                case PaymentStatus.Refunded: events.Add(Event(EventTypes.PaymentRefunded, after, step, now)); break;
            }
        }
        return events;
    }

    /// <summary>One event of the contract (<see cref="OutboxEvent"/>) about the payment at a step of a change, or at its creation.</summary>
    public static OutboxEvent Event(string type, PaymentRecord payment, TransitionStep? step, DateTimeOffset now) =>
        OutboxEvent.For(type, payment, step, now);
}

using System.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Domain.Payments;
using Payrail.Payments;
using Payrail.Psp;
using Payrail.Refunds;

namespace Payrail.Webhooks;

/// <summary>What the receiver answers: the HTTP status and the outcome (or the refusal's reason).</summary>
public sealed record WebhookResult(int Status, string Outcome)
{
    public static WebhookResult Received(string outcome) => new(StatusCodes.Status200OK, outcome);
}

/// <summary>
/// A PSP webhook from raw body to committed effect (DESIGN.md "Webhooks"): verify the signature on the raw body, drop a
/// known event id, find the payment (by the <c>payrail_payment_id</c> metadata, else by PSP reference), and move it
/// through <see cref="PaymentTransitions"/> — the path the API and the sweeper use — with the event id recorded in the
/// same batch (<see cref="RecordWebhookEvent"/>). The state machine is monotone: a late event is stale, an event that
/// skips ahead records each step, a final state never moves. Only an ambiguous event (a refund event, whose object is
/// not the PaymentIntent; an event the state machine refuses for a payment still in flight, i.e. an out-of-order pair)
/// costs one bounded PSP read, and what the PSP says now is applied. Nothing else runs before the answer.
/// </summary>
public sealed class PspWebhookReceiver(
    IPspConnector psp,
    PaymentStore payments,
    PaymentTransitions transitions,
    WebhookEvents events,
    RefundStore refunds,
    RefundTransitions refundTransitions,
    WebhookMetrics metrics,
    IOptions<WebhookOptions> options,
    TimeProvider clock,
    ILogger<PspWebhookReceiver> logger)
{
    private readonly TimeSpan _refetchTimeout = TimeSpan.FromMilliseconds(options.Value.RefetchTimeoutMs);

    private enum Handling
    {
        /// <summary>The event carries the PaymentIntent as it was: apply that snapshot.</summary>
        Snapshot,

        /// <summary>The event is about another object (a charge, a refund): read the PaymentIntent as it is now.</summary>
        Refetch,

        /// <summary>Nothing Payrail acts on.</summary>
        Ignore,
    }

    public async Task<WebhookResult> ReceiveAsync(string body, string? signatureHeader, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var receivedAt = clock.GetUtcNow();
        PspWebhookEvent parsed;
        try
        {
            parsed = psp.ParseWebhook(body, signatureHeader ?? "", receivedAt);
        }
        catch (PspWebhookRejectedException e) when (!e.Authentic)
        {
            // Nobody proved they hold a secret: nothing is written, and neither the body nor the header is logged.
            metrics.Refused(psp.Name, e.Code);
            logger.LogWarning("Webhook from {Psp} refused ({Reason}); nothing written", psp.Name, e.Code);
            return new WebhookResult(StatusCodes.Status400BadRequest, e.Code);
        }
        catch (PspWebhookRejectedException e)
        {
            await events.RecordAsync(new ReceivedWebhook(psp.Name, null, null, Storable(body), receivedAt), null, WebhookOutcome.Rejected);
            metrics.Received(psp.Name, WebhookOutcome.Rejected, Stopwatch.GetElapsedTime(started));
            logger.LogWarning("Authentic webhook from {Psp} is not an event Payrail can read ({Reason}); recorded as rejected", psp.Name, e.Code);
            return new WebhookResult(StatusCodes.Status400BadRequest, WebhookOutcome.Rejected);
        }

        var webhook = new ReceivedWebhook(psp.Name, parsed.EventId, parsed.Type, Storable(body), receivedAt);
        try
        {
            var outcome = await ApplyAsync(parsed, webhook, cancellationToken);
            metrics.Received(psp.Name, outcome, Stopwatch.GetElapsedTime(started));
            return WebhookResult.Received(outcome);
        }
        catch (WebhookRetryLaterException e)
        {
            // Nothing was written: the PSP delivers the event again later, when the answer can be known.
            metrics.Received(psp.Name, "retry_later", Stopwatch.GetElapsedTime(started));
            logger.LogWarning("Webhook {EventId} ({EventType}) not applied now: {Reason}; the PSP will deliver it again",
                parsed.EventId, parsed.Type, e.Message);
            return new WebhookResult(StatusCodes.Status503ServiceUnavailable, "retry_later");
        }
    }

    private async Task<string> ApplyAsync(PspWebhookEvent e, ReceivedWebhook webhook, CancellationToken cancellationToken)
    {
        var handling = HandlingOf(e);
        // The common delivery (a PaymentIntent's event naming its Payrail payment): the event-id check and the payment
        // read share one round trip.
        var named = e.Refund is null && handling != Handling.Ignore && Guid.TryParse(e.MetadataPaymentId, out var id) ? id : (Guid?)null;
        PaymentRecord? byMetadata = null;
        if (named is { } paymentId)
        {
            (var seen, byMetadata) = await payments.FindWithAsync(WebhookEvents.ExistsCommand(webhook.Psp, e.EventId), paymentId);
            if (seen) return WebhookOutcome.Duplicate;
        }
        else if (await events.ExistsAsync(webhook.Psp, e.EventId))
        {
            return WebhookOutcome.Duplicate;
        }
        // A refund event about one of our refunds moves that refund (its snapshot: the refund lifecycle is monotone, so
        // a late or reordered event is stale); one about a refund made elsewhere goes on below (the PaymentIntent re-read).
        if (e.Refund is { } pspRefund && await FindRefundAsync(pspRefund) is { } refund)
            return await ApplyToRefundAsync(e, pspRefund, refund, webhook);
        if (handling == Handling.Ignore) return await RecordAloneAsync(webhook, null, WebhookOutcome.Ignored);

        var payment = byMetadata ?? await FindPaymentAsync(e, metadataRead: named is not null);
        if (payment is null)
        {
            logger.LogWarning("Webhook {EventId} ({EventType}) is about PSP object {PspReference}, which no Payrail payment matches; recorded as orphan",
                e.EventId, e.Type, e.PspReference);
            return await RecordAloneAsync(webhook, null, WebhookOutcome.Orphan);
        }
        try
        {
            return await ApplyToPaymentAsync(e, handling, payment, webhook, cancellationToken);
        }
        catch (PostgresException x) when (WebhookEvents.IsDuplicate(x))
        {
            return WebhookOutcome.Duplicate; // another delivery of this event committed first; this batch wrote nothing
        }
    }

    private async Task<string> ApplyToPaymentAsync(
        PspWebhookEvent e, Handling handling, PaymentRecord payment, ReceivedWebhook webhook, CancellationToken cancellationToken)
    {
        var record = new RecordWebhookEvent(webhook, payment.Id, clock);
        // A final state never moves, whatever the PSP says now: recorded, no PSP read, no transition.
        if (payment.Status.IsTerminal()) return await RecordStaleAsync(payment, record);

        var answer = handling == Handling.Snapshot ? e.Payment! : await RefetchAsync(e.PspReference!, cancellationToken);
        if (answer is null) return await RecordAloneAsync(webhook, payment.Id, WebhookOutcome.Ignored);
        var outcome = OutcomeFor(payment, answer, e);
        // An out-of-order pair (e.g. a failure after an authorization): the snapshot cannot say which came last; the PSP can.
        if (outcome is not null && handling == Handling.Snapshot && IsRefused(payment, outcome))
        {
            answer = await RefetchAsync(answer.PspReference, cancellationToken);
            if (answer is null) return await RecordAloneAsync(webhook, payment.Id, WebhookOutcome.Ignored);
            outcome = OutcomeFor(payment, answer, e);
        }
        if (outcome is null) return await RecordAloneAsync(webhook, payment.Id, WebhookOutcome.Ignored);

        var result = await transitions.ApplyAsync(payment, new PaymentTransition(outcome, psp.Name, "webhook:" + e.Type), [record]);
        return result.Kind switch
        {
            TransitionResultKind.Applied => WebhookOutcome.Applied,
            TransitionResultKind.AlreadyApplied or TransitionResultKind.Stale => WebhookOutcome.Stale,
            // Still refused after the PSP's word: what the PSP says cannot move this payment (recorded, looked at by reconciliation).
            TransitionResultKind.Refused => await RecordStaleAsync(result.Payment!, record),
            _ => throw new WebhookRetryLaterException($"payment kept changing under us ({result.Kind})"),
        };
    }

    private async Task<RefundRecord?> FindRefundAsync(PspRefund pspRefund)
    {
        if (pspRefund.RefundId is { } id && await refunds.FindAsync(id) is { } byMetadata) return byMetadata;
        return await refunds.FindByPspRefundIdAsync(psp.Name, pspRefund.RefundReference);
    }

    private async Task<string> ApplyToRefundAsync(PspWebhookEvent e, PspRefund pspRefund, RefundRecord refund, ReceivedWebhook webhook)
    {
        try
        {
            var result = await refundTransitions.ApplyAsync(refund.Id, pspRefund, "webhook:" + e.Type,
                _ => [new RecordWebhookEvent(webhook, refund.PaymentId, clock)]);
            return result.Kind switch
            {
                RefundResultKind.Applied => WebhookOutcome.Applied,
                RefundResultKind.Unchanged => WebhookOutcome.Stale,
                RefundResultKind.Mismatch => await RecordAloneAsync(webhook, refund.PaymentId, WebhookOutcome.Ignored),
                _ => throw new WebhookRetryLaterException($"refund kept changing under us ({result.Kind})"),
            };
        }
        catch (PostgresException x) when (WebhookEvents.IsDuplicate(x))
        {
            return WebhookOutcome.Duplicate;
        }
    }

    private async Task<string> RecordStaleAsync(PaymentRecord payment, RecordWebhookEvent record)
    {
        var recorded = await transitions.RecordAsync(payment, [record]);
        return recorded.Committed ? WebhookOutcome.Stale : throw new WebhookRetryLaterException($"payment kept changing under us ({recorded.Kind})");
    }

    private async Task<string> RecordAloneAsync(ReceivedWebhook webhook, Guid? paymentId, string outcome) =>
        await events.RecordAsync(webhook, paymentId, outcome) ? outcome : WebhookOutcome.Duplicate;

    /// <summary>Stripe event types whose snapshot is the PaymentIntent as it was (payment_intent.created is not among them:
    /// it says nothing of the outcome, its snapshot may still be unconfirmed).</summary>
    private static readonly string[] SnapshotTypes =
    [
        "payment_intent.processing", "payment_intent.requires_action", "payment_intent.amount_capturable_updated",
        "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled",
    ];

    /// <summary>Stripe event types about a charge or a refund of a PaymentIntent: the PaymentIntent is read as it is now.</summary>
    private static readonly string[] RefetchTypes = ["charge.refunded", "charge.expired", "refund.created", "refund.updated", "refund.failed"];

    /// <summary>Refund events about a refund that is not a PaymentIntent event: applied to our refund when it is one of ours.</summary>
    private static readonly string[] RefundOnlyTypes = ["charge.refund.updated"];

    /// <summary>What the receiver acts on: the <c>enabled_events</c> `up` registers (every other type is stored and ignored).</summary>
    public static IReadOnlyList<string> HandledEventTypes { get; } = [.. SnapshotTypes, .. RefetchTypes, .. RefundOnlyTypes];

    /// <summary>Stripe's event types (the receiver is mounted for the Stripe connector); every other type is ignored.</summary>
    private static Handling HandlingOf(PspWebhookEvent e)
    {
        if (SnapshotTypes.Contains(e.Type, StringComparer.Ordinal) && e.Payment is not null) return Handling.Snapshot;
        if (RefetchTypes.Contains(e.Type, StringComparer.Ordinal) && e.PspReference is { Length: > 0 }) return Handling.Refetch;
        return Handling.Ignore;
    }

    /// <summary>By the <c>payrail_payment_id</c> metadata (unless <paramref name="metadataRead"/> found none), else by PSP reference.</summary>
    private async Task<PaymentRecord?> FindPaymentAsync(PspWebhookEvent e, bool metadataRead)
    {
        if (!metadataRead && Guid.TryParse(e.MetadataPaymentId, out var id) && await payments.FindAsync(id) is { } byMetadata) return byMetadata;
        return e.PspReference is { Length: > 0 } reference ? await payments.FindByPspReferenceAsync(psp.Name, reference) : null;
    }

    /// <summary>
    /// The state machine's event for what the PSP says, or null when the answer disagrees with the payment (another
    /// PaymentIntent, another amount or currency): such an answer never moves our books (<see cref="PspAnswerCheck"/>).
    /// </summary>
    private PspOutcome? OutcomeFor(PaymentRecord payment, PspPayment answer, PspWebhookEvent e)
    {
        if (PspAnswerCheck.Mismatch(payment, answer) is { } field)
        {
            logger.LogError("Webhook {EventId} ({EventType}) disagrees with payment {PaymentId} on {Field}; ignored",
                e.EventId, e.Type, payment.Id, field);
            return null;
        }
        // Canceled after an authorization is a void (the hold is released), not a failure of the payment.
        return PspOutcome.For(payment, answer);
    }

    private static bool IsRefused(PaymentRecord payment, PspOutcome outcome) =>
        PaymentStateMachine.Apply(payment.Status, outcome.Event).Outcome == TransitionOutcome.Rejected;

    /// <summary>The PaymentIntent as the PSP holds it now, within <see cref="WebhookOptions.RefetchTimeoutMs"/>; null when the PSP does not know it.</summary>
    private async Task<PspPayment?> RefetchAsync(string pspReference, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(_refetchTimeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            return await psp.RetrieveAsync(pspReference, linked.Token);
        }
        catch (Exception x) when (x is PspUnavailableException or PspRequestRejectedException
                                  || (x is OperationCanceledException && linked.IsCancellationRequested))
        {
            throw new WebhookRetryLaterException($"the PSP did not tell the state of {pspReference} in time ({x.GetType().Name})");
        }
    }

    /// <summary>PostgreSQL text holds no NUL; the payload is kept for people to read, not re-verified.</summary>
    private static string Storable(string body) => body.Contains('\0') ? body.Replace('\0', '\uFFFD') : body;

    /// <summary>The effect cannot be decided now; nothing was written.</summary>
    private sealed class WebhookRetryLaterException(string reason) : Exception(reason);
}

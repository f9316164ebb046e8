using Microsoft.Extensions.Options;
using Payrail.Domain.Payments;
using Payrail.Domain.Refunds;
using Payrail.Payments;
using Payrail.Psp;
using Payrail.Refunds;

namespace Payrail.Sweeper;

/// <summary>What one catch-up round read and applied.</summary>
public sealed record CatchUpResult(int Pages, int Events, int Applied);

/// <summary>
/// Heals a webhook outage without waiting for the threshold or the nightly reconciliation: pages the PSP's events
/// forward from the last one applied (a leased cursor row, so one worker pages at a time), retrieves each PaymentIntent
/// they are about once per page, and applies its state now through <see cref="PaymentTransitions"/>. Order and repeats
/// do not matter: the intent's current state is applied, and an outcome already recorded is AlreadyApplied or Stale.
/// At most <see cref="SweeperOptions.MaxEventPagesPerSweep"/> pages per round; the cursor moves after each applied page.
/// Events whose object is a refund (refund.*, charge.refund.updated) move that refund instead, as their webhook would:
/// the refund is retrieved now and applied through <see cref="RefundTransitions"/>, so a refund whose webhooks were all
/// lost is resolved here too, without waiting for the stuck-refund sweep.
/// </summary>
public sealed class EventsCatchUp(
    SweeperStore store,
    PaymentStore payments,
    PaymentTransitions transitions,
    RefundStore refunds,
    RefundTransitions refundTransitions,
    IPspConnector psp,
    SweeperMetrics metrics,
    IOptions<SweeperOptions> options,
    TimeProvider clock,
    ILogger<EventsCatchUp> logger)
{
    public const string Cause = "sweeper.catch_up";
    private readonly SweeperOptions _options = options.Value;

    public async Task<CatchUpResult> RunOnceAsync(Guid owner, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (await store.LeaseCursorAsync(psp.Name, owner, now, _options.Lease, cancellationToken) is not { } cursor)
            return new CatchUpResult(0, 0, 0); // another worker is catching up
        try
        {
            return await PageAsync(owner, cursor, cancellationToken);
        }
        finally
        {
            await store.ReleaseCursorAsync(psp.Name, owner, CancellationToken.None);
        }
    }

    /// <summary>Forward from the cursor, page by page, the cursor moved after each applied page.</summary>
    private async Task<CatchUpResult> PageAsync(Guid owner, EventCursor cursor, CancellationToken cancellationToken)
    {
        if (cursor.EventId is not { } after || cursor.EventCreatedAt is not { } from)
            return await FirstRoundAsync(owner, clock.GetUtcNow() - _options.CatchUpLookback, cancellationToken);
        var round = new Round(clock.GetUtcNow() + _options.Lease / 2);
        while (round.MayRead(_options.MaxEventPagesPerSweep, clock.GetUtcNow()))
        {
            PspEventPage page;
            try
            {
                page = await psp.ListEventsAsync(after, null, from, _options.EventsPageSize, cancellationToken);
            }
            // The cursor's event is gone (the PSP keeps events 30 days): read back to its time instead.
            catch (PspRequestRejectedException e) when (e.Code == "resource_missing")
            {
                logger.LogWarning("Events cursor {EventId} is no longer held by the PSP; reading events back to {From:O}", after, from);
                return await FirstRoundAsync(owner, from, cancellationToken);
            }
            await round.ApplyAsync(page, this, cancellationToken);
            if (page.Events.Count == 0) break;
            var newest = page.Events[^1];
            await store.AdvanceCursorAsync(psp.Name, owner, newest.EventId, newest.CreatedAt, clock.GetUtcNow(), cancellationToken);
            (after, from) = (newest.EventId, newest.CreatedAt);
            if (!page.HasMore) break;
        }
        return round.Result(logger);
    }

    /// <summary>
    /// No cursor yet (or its event is gone): backward from the newest event to <paramref name="from"/>, bounded; then the
    /// cursor is the newest event read. What the bound leaves out is older than a whole round's pages: the stuck-payment
    /// scan finds those payments.
    /// </summary>
    private async Task<CatchUpResult> FirstRoundAsync(Guid owner, DateTimeOffset from, CancellationToken cancellationToken)
    {
        var round = new Round(clock.GetUtcNow() + _options.Lease / 2);
        string? before = null;
        PspEventSummary? newest = null;
        while (round.MayRead(_options.MaxEventPagesPerSweep, clock.GetUtcNow()))
        {
            var page = await psp.ListEventsAsync(null, before, from, _options.EventsPageSize, cancellationToken);
            await round.ApplyAsync(page, this, cancellationToken);
            if (page.Events.Count == 0) break;
            newest ??= page.Events[^1];
            before = page.Events[0].EventId;
            if (!page.HasMore) break;
        }
        if (newest is not null)
            await store.AdvanceCursorAsync(psp.Name, owner, newest.EventId, newest.CreatedAt, clock.GetUtcNow(), cancellationToken);
        return round.Result(logger);
    }

    /// <summary>One round's counts and bounds: pages read, and half the lease for reading (the rest is the margin).</summary>
    private sealed class Round(DateTimeOffset stopAt)
    {
        private int _pages, _events, _applied;

        public bool MayRead(int maxPages, DateTimeOffset now) => _pages < maxPages && now < stopAt;

        public async Task ApplyAsync(PspEventPage page, EventsCatchUp catchUp, CancellationToken cancellationToken)
        {
            _pages++;
            _events += page.Events.Count;
            _applied += await catchUp.ApplyPageAsync(page, cancellationToken);
        }

        public CatchUpResult Result(ILogger logger)
        {
            if (_applied > 0) logger.LogInformation("Events catch-up applied {Applied} missed outcomes from {Events} PSP events", _applied, _events);
            return new CatchUpResult(_pages, _events, _applied);
        }
    }

    /// <summary>
    /// Each refund of the page once, then each PaymentIntent once: retrieved now, its state applied. Returns the refunds and
    /// payments that changed.
    /// </summary>
    private async Task<int> ApplyPageAsync(PspEventPage page, CancellationToken cancellationToken)
    {
        var applied = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in page.Events)
        {
            if (e.RefundReference is { } refundReference)
            {
                var refundOutcome = seen.Add(refundReference) ? await ApplyRefundAsync(refundReference, cancellationToken) : "skipped";
                metrics.Event(refundOutcome);
                if (refundOutcome == "applied") applied++;
                continue;
            }
            if (e.PspReference is not { } reference || !seen.Add(reference))
            {
                metrics.Event("skipped");
                continue;
            }
            var outcome = await ApplyAsync(reference, e.PaymentId, cancellationToken);
            metrics.Event(outcome);
            if (outcome == "applied") applied++;
        }
        return applied;
    }

    /// <summary>
    /// One refund as the PSP holds it now, applied to ours (found by its PSP id, else by the Payrail id in its metadata when
    /// our row never learned the PSP id). Failed and canceled refunds never move: no PSP read for them.
    /// </summary>
    private async Task<string> ApplyRefundAsync(string refundReference, CancellationToken cancellationToken)
    {
        var known = await refunds.FindByPspRefundIdAsync(psp.Name, refundReference);
        if (known is not null && known.Status.IsFinal()) return "unchanged";
        var answer = await psp.RetrieveRefundAsync(refundReference, cancellationToken);
        if (answer is null) return "unchanged";
        var refund = known ?? (answer.RefundId is { } id ? await refunds.FindAsync(id) : null);
        // A refund made elsewhere (the PSP's dashboard) is no refund of ours; its payment is the intent path's and reconciliation's.
        if (refund is null) return "orphan";
        var result = await refundTransitions.ApplyAsync(refund.Id, answer, Cause);
        return result.Kind == RefundResultKind.Applied ? "applied" : "unchanged";
    }

    private async Task<string> ApplyAsync(string reference, Guid? paymentId, CancellationToken cancellationToken)
    {
        if (await store.FindByPspAsync(psp.Name, reference, paymentId, cancellationToken) is not { } found) return "orphan";
        // Only states a PaymentIntent can still move out of; refunds and settlement are not this path's.
        if (found.Status is not (PaymentStatus.Initiated or PaymentStatus.Processing or PaymentStatus.Authorized)) return "unchanged";
        var payment = await payments.FindAsync(found.Id);
        var answer = await psp.RetrieveAsync(reference, cancellationToken);
        if (payment is null || answer is null) return "unchanged";
        if (PspAnswerCheck.Mismatch(payment, answer) is { } field)
        {
            logger.LogError("PSP intent {PspReference} disagrees with payment {PaymentId} on {Field}; not applied", reference, payment.Id, field);
            return "unchanged";
        }
        var result = await transitions.ApplyAsync(payment, new PaymentTransition(PspOutcome.For(payment, answer), psp.Name, Cause), []);
        if (result.Kind != TransitionResultKind.Applied) return "unchanged";
        if (result.Payment!.Status != payment.Status) metrics.Resolution("catch_up");
        return "applied";
    }
}

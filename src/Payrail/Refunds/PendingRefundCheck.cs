using Microsoft.Extensions.Options;
using Payrail.Domain.Refunds;
using Payrail.Payments;
using Payrail.Psp;

namespace Payrail.Refunds;

/// <summary>
/// The sweeper's refund step: refunds still pending <see cref="RefundsOptions.SweepAfterMs"/> after their creation (a lost
/// answer, a crash before the PSP call, a webhook that never came) are asked about again, at most
/// <see cref="RefundsOptions.SweepBatchSize"/> per sweep, each once per <see cref="RefundsOptions.SweepRecheckMs"/>, each
/// PSP read bounded by <see cref="RefundsOptions.PspReadTimeoutMs"/>. A refund the PSP knows by id is retrieved; one it
/// never answered is sent again under its own PSP idempotency key (the PSP answers with the refund it made, or makes it
/// once), and when that key only replays a 5xx it is looked up among the payment's refunds by its metadata. What the PSP
/// says goes through <see cref="RefundTransitions"/>, the path of the API and the webhooks.
/// </summary>
public sealed class PendingRefundCheck(RefundStore refunds, PaymentStore payments, RefundTransitions transitions, IPspConnector psp,
    IOptions<RefundsOptions> options, TimeProvider clock, ILogger<PendingRefundCheck> logger)
{
    private const string Cause = "sweeper.refund";
    private readonly RefundsOptions _options = options.Value;

    /// <summary>One batch; returns how many refunds it moved.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var due = await refunds.ListDuePendingAsync(now - TimeSpan.FromMilliseconds(_options.SweepAfterMs), now, _options.SweepBatchSize)
            .ConfigureAwait(false);
        var resolved = 0;
        foreach (var refund in due)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await refunds.RecordCheckAsync(refund.Id, clock.GetUtcNow() + TimeSpan.FromMilliseconds(_options.SweepRecheckMs)).ConfigureAwait(false);
            try
            {
                if (await CheckAsync(refund, cancellationToken).ConfigureAwait(false)) resolved++;
            }
            catch (Exception e) when (e is PspUnavailableException or PspRequestRejectedException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                logger.LogWarning("Sweeper check of refund {RefundId} failed ({Error}); asked again later", refund.Id, e.GetType().Name);
            }
        }
        if (resolved > 0) logger.LogInformation("Sweeper resolved {Resolved} pending refunds of {Due}", resolved, due.Count);
        return resolved;
    }

    private async Task<bool> CheckAsync(RefundRecord refund, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromMilliseconds(_options.PspReadTimeoutMs));
        var answer = await AskAsync(refund, deadline.Token).ConfigureAwait(false);
        if (answer is null)
        {
            logger.LogWarning("Refund {RefundId} is pending and the PSP does not show it; asked again later", refund.Id);
            return false;
        }
        var result = await transitions.ApplyAsync(refund.Id, answer, Cause).ConfigureAwait(false);
        return result.Kind == RefundResultKind.Applied;
    }

    private async Task<PspRefund?> AskAsync(RefundRecord refund, CancellationToken cancellationToken)
    {
        if (refund.PspRefundId is { } known) return await psp.RetrieveRefundAsync(known, cancellationToken).ConfigureAwait(false);
        var payment = await payments.FindAsync(refund.PaymentId).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"refund {refund.Id} refers to a payment that does not exist");
        try
        {
            return await psp.RefundAsync(RefundCreation.Request(refund, payment), cancellationToken).ConfigureAwait(false);
        }
        // Stripe saves a 5xx under the key and replays it: only the payment's refund list can tell whether it was made.
        catch (PspUnavailableException e) when (e.ServerError)
        {
            return await psp.FindRefundAsync(payment.PspReference!, refund.Id, _options.MaxRefundsPerPayment, cancellationToken).ConfigureAwait(false);
        }
        // The PSP refuses it now (e.g. the charge counts as refunded): the refund failed, its reservation is released.
        catch (PspRequestRejectedException e) when (e.Code != "idempotency_error")
        {
            await transitions.ApplyAsync(refund.Id, new RefundWord(RefundStatus.Failed, null, e.Code.Length is > 0 and <= 255 ? e.Code : "refused"), Cause)
                .ConfigureAwait(false);
            return null;
        }
    }
}

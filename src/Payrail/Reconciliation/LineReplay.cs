using Payrail.Domain.Payments;
using Payrail.Domain.Refunds;
using Payrail.Payments;
using Payrail.Psp;
using Payrail.Refunds;

namespace Payrail.Reconciliation;

/// <summary>
/// The repair of a line Payrail was missing (issue 13, <c>missing_in_payrail</c>): the object re-fetched from the PSP and
/// applied through the path every change takes (<see cref="PaymentTransitions"/> with <see cref="PspOutcome.For"/>, as
/// the sweeper does; <see cref="RefundTransitions"/> for refunds). At most once per line across every run: the claim
/// in reconciliation_replays commits before the PSP is asked.
/// </summary>
public sealed class LineReplay(IPspConnector psp, PaymentStore payments, PaymentTransitions transitions, RefundTransitions refunds,
    ReconciliationStore store, TimeProvider clock)
{
    public const string Cause = "reconciliation";

    public async Task<LineVerdict> ReplayAsync(LineVerdict verdict, PspLine line, long runId, CancellationToken cancellationToken)
    {
        var claimed = await store.ClaimReplayAsync(psp.Name, verdict.Key, runId, verdict.PaymentId!.Value, verdict.RefundId,
            clock.GetUtcNow(), cancellationToken);
        if (!claimed) return NotRepaired(verdict, "replayed once already, still behind");
        return verdict.Action == LineAction.ReplayPayment
            ? await PaymentAsync(verdict, line, cancellationToken)
            : await RefundAsync(verdict, line, cancellationToken);
    }

    private async Task<LineVerdict> PaymentAsync(LineVerdict verdict, PspLine line, CancellationToken cancellationToken)
    {
        var payment = await payments.FindAsync(verdict.PaymentId!.Value);
        if (payment?.PspReference is null) return NotRepaired(verdict, "the payment has no PSP reference now");
        var answer = await psp.RetrieveAsync(payment.PspReference, cancellationToken);
        if (answer is null) return NotRepaired(verdict, "the PSP does not show the PaymentIntent");
        if (PspAnswerCheck.Mismatch(payment, answer) is { } field) return NotRepaired(verdict, $"the PSP's answer disagrees on {field}");
        var result = await transitions.ApplyAsync(payment, new PaymentTransition(PspOutcome.For(payment, answer), psp.Name, Cause), []);
        var after = result.Payment ?? payment;
        var level = after.Status is PaymentStatus.Captured or PaymentStatus.Settled or PaymentStatus.Refunded
                    && after.AmountCapturedMinor == line.AmountMinor && after.CurrencyCode == line.CurrencyCode;
        return level
            ? verdict with
            {
                Bucket = Buckets.Repaired, Reason = "replayed from the PSP through the state-change path",
                PayrailAmountMinor = after.AmountCapturedMinor, Action = LineAction.None,
            }
            : NotRepaired(verdict, $"replayed ({result.Kind}), still {after.Status.ToWire()}");
    }

    private async Task<LineVerdict> RefundAsync(LineVerdict verdict, PspLine line, CancellationToken cancellationToken)
    {
        // A refund line's reference is the PSP's refund id (its balance transaction's source).
        var answer = await psp.RetrieveRefundAsync(line.Reference, cancellationToken);
        if (answer is null) return NotRepaired(verdict, "the PSP does not show the refund");
        var result = await refunds.ApplyAsync(verdict.RefundId!.Value, answer, Cause);
        var status = result.Refund?.Status.ToWire();
        var level = result.Kind is RefundResultKind.Applied or RefundResultKind.Unchanged
                    && (verdict.Kind == LineKind.RefundFailure ? status is "failed" or "canceled" : status == line.SourceStatus);
        return level
            ? verdict with { Bucket = Buckets.Repaired, Reason = "replayed from the PSP through the state-change path", Action = LineAction.None }
            : NotRepaired(verdict, $"replayed ({result.Kind}), refund still {status ?? "unknown"}");
    }

    private static LineVerdict NotRepaired(LineVerdict verdict, string why) =>
        verdict with { Reason = verdict.Reason + "; " + why, Action = LineAction.None };
}

using System.Text.Json.Nodes;
using PspSim.BalanceTransactions;
using PspSim.Events;
using PspSim.PaymentIntents;
using PspSim.Storage;
using PspSim.Stripe;

namespace PspSim.Refunds;

public static class RefundStatus
{
    public const string Pending = "pending";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Canceled = "canceled";
}

/// <summary>
/// What happens to a refund after it was created (docs.stripe.com/refunds#failed-refunds, /testing#refunds):
/// pending → succeeded; pending | succeeded → failed; pending → canceled. A failed or canceled refund gives the money
/// back: a refund_failure balance transaction, and the charge's amount_refunded lowered so the amount can be refunded again.
/// </summary>
public static class RefundLifecycle
{
    /// <summary>Stripe's failure_reason values for a failed card refund.</summary>
    public static readonly IReadOnlySet<string> FailureReasons = new HashSet<string> { "expired_or_canceled_card", "lost_or_stolen_card", "unknown" };
    /// <summary>Stripe's failure_reason of a canceled refund.</summary>
    public const string CanceledReason = "merchant_request";
    /// <summary>What pm_card_refundFail's refunds fail with (docs.stripe.com/testing).</summary>
    public const string TestCardFailureReason = "expired_or_canceled_card";

    /// <summary>Schedules the test card's asynchronous outcome on a new refund: its status at creation.</summary>
    public static string Begin(RefundState re, RefundBehavior behavior, long now, int delaySeconds)
    {
        switch (behavior)
        {
            case RefundBehavior.PendingThenSucceeds:
                re.SettleAt = now + delaySeconds;
                re.SettleOutcome = RefundStatus.Succeeded;
                return RefundStatus.Pending;
            case RefundBehavior.SucceedsThenFails:
                re.SettleAt = now + delaySeconds;
                re.SettleOutcome = RefundStatus.Failed;
                return RefundStatus.Succeeded;
            default:
                return RefundStatus.Succeeded;
        }
    }

    /// <summary>Makes the scheduled change of a due refund (ignores one that moved on meanwhile).</summary>
    public static void SettleDue(SimStore.WriteTx tx, RefundState re, long dueAt)
    {
        if (re.SettleAt != dueAt) return;
        if (re.SettleOutcome == RefundStatus.Failed) Reverse(tx, re, RefundStatus.Failed, TestCardFailureReason);
        else Succeed(tx, re);
    }

    /// <summary>pending → succeeded (refund.updated, charge.refund.updated). A succeeded refund only loses its schedule.</summary>
    public static void Succeed(SimStore.WriteTx tx, RefundState re)
    {
        if (re.Status == RefundStatus.Succeeded && re.SettleAt is not null)
        {
            re.SettleAt = null;
            re.SettleOutcome = null;
            tx.Save(re);
            return;
        }
        RequireStatus(re, "succeed", RefundStatus.Pending);
        var before = StripeJson.Refund(re);
        re.Status = RefundStatus.Succeeded;
        re.SettleAt = null;
        re.SettleOutcome = null;
        tx.Save(re);
        EmitUpdated(tx, re, before);
    }

    /// <summary>
    /// pending | succeeded → failed, or pending → canceled: the refunded amount comes back to the balance
    /// (failure_balance_transaction) and to the charge (amount_refunded, refunded), then refund.updated,
    /// charge.refund.updated and, for a failure, refund.failed.
    /// </summary>
    public static void Reverse(SimStore.WriteTx tx, RefundState re, string status, string failureReason)
    {
        if (status == RefundStatus.Canceled) RequireStatus(re, "cancel", RefundStatus.Pending);
        else RequireStatus(re, "fail", RefundStatus.Pending, RefundStatus.Succeeded);
        var charge = tx.Store.Charges.Find(re.Charge)
            ?? throw new InvalidOperationException($"refund {re.Id} names charge {re.Charge}, which the store does not hold");
        if (charge.AmountRefunded < re.Amount)
            throw new InvalidOperationException($"charge {charge.Id} has {charge.AmountRefunded} refunded, less than refund {re.Id} gives back ({re.Amount})");

        // Gives back exactly what the refund's own balance transaction took: same settlement currency and rate.
        var refunded = re.BalanceTransaction is { } refundTxn ? tx.Store.BalanceTransactions.Find(refundTxn) : null;
        if (refunded is null)
            throw new InvalidOperationException($"refund {re.Id} has no balance transaction to reverse");

        var before = StripeJson.Refund(re);
        var txn = new BalanceTransactionState
        {
            Id = Ids.New("txn"), Created = tx.Now, Amount = -refunded.Amount, Fee = 0, Net = -refunded.Amount,
            Currency = refunded.Currency, ExchangeRate = refunded.ExchangeRate, Source = re.Id, Type = "refund_failure", ReportingCategory = "refund_failure", AvailableOn = tx.Now,
            Description = "REFUND FAILURE",
        };
        re.Status = status;
        re.FailureReason = failureReason;
        re.FailureBalanceTransaction = txn.Id;
        re.SettleAt = null;
        re.SettleOutcome = null;
        charge.AmountRefunded -= re.Amount;
        tx.Save(txn);
        tx.Save(re);
        tx.Save(charge);
        EmitUpdated(tx, re, before);
        if (status == RefundStatus.Failed) tx.Emit("refund.failed", StripeJson.Refund(re));
    }

    private static void EmitUpdated(SimStore.WriteTx tx, RefundState re, JsonObject before)
    {
        var after = StripeJson.Refund(re);
        tx.Emit("refund.updated", after, PreviousAttributes.Of(before, after));
        tx.Emit("charge.refund.updated", StripeJson.Refund(re), PreviousAttributes.Of(before, after));
    }

    private static void RequireStatus(RefundState re, string verb, params string[] allowed)
    {
        if (!allowed.Contains(re.Status))
            throw new StripeApiException(400, "invalid_request_error", null,
                $"Refund {re.Id} cannot {verb} because it has a status of {re.Status}; only a refund with a status of {string.Join(" or ", allowed)} can.") { Executed = true };
    }
}

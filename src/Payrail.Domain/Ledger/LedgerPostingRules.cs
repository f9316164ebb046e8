using Payrail.Domain.Money;

namespace Payrail.Domain.Ledger;

/// <summary>
/// The transfers each operation on one payment writes. Money flows buyer → merchant on a
/// charge and merchant → buyer on a refund; the buyer account stands for the card behind the PSP.
/// Each method returns one journal entry (the transfers of one operation) with deterministic ids.
///
/// Not yet modelled (a later issue): settlement, which moves the PSP's receivable into cash
/// when the settlement report arrives, and PSP fees, which are their own transfer to a fees
/// account. Both need new owner kinds (e.g. "psp:{provider}", "fees:{provider}") and flags.
/// </summary>
public sealed record LedgerPostingRules(Guid PaymentId, string BuyerId, string MerchantId, Currency Currency)
{
    public string BuyerOwner => LedgerAccountOwner.Buyer(BuyerId);

    public string MerchantOwner => LedgerAccountOwner.Merchant(MerchantId);

    /// <summary>The id of this payment's authorization hold; capture and void refer to it.</summary>
    public Guid AuthorizationId => TransferIds.For(PaymentId, TransferSteps.Authorize);

    /// <summary>Authorization: hold the amount as a pending transfer buyer → merchant.</summary>
    public IReadOnlyList<TransferDraft> Authorize(long amountMinor)
    {
        RequirePositive(amountMinor, nameof(amountMinor));
        return [Draft(AuthorizationId, TransferKind.Pending, BuyerOwner, MerchantOwner, amountMinor, null)];
    }

    /// <summary>
    /// Capture: post captureAmount of the hold. Posting removes the whole authorized amount from
    /// the pending columns, so a partial capture releases the rest in the same transfer.
    /// A hold is posted at most once, so there is one capture per payment.
    /// </summary>
    public IReadOnlyList<TransferDraft> Capture(Guid pendingId, long authorizedAmountMinor, long captureAmountMinor)
    {
        RequirePositive(captureAmountMinor, nameof(captureAmountMinor));
        if (captureAmountMinor > authorizedAmountMinor)
        {
            throw new ArgumentOutOfRangeException(nameof(captureAmountMinor), captureAmountMinor,
                $"A capture cannot exceed the authorized {authorizedAmountMinor}.");
        }

        var id = TransferIds.For(PaymentId, TransferSteps.Capture);
        return [Draft(id, TransferKind.PostPending, BuyerOwner, MerchantOwner, captureAmountMinor, pendingId)];
    }

    /// <summary>
    /// Purchase (automatic capture in one PSP call): one Posted transfer buyer → merchant.
    /// Chosen over Pending + PostPending because there is no hold to release and a single
    /// transfer cannot be half-written; the books end the same as authorize + full capture.
    /// </summary>
    public IReadOnlyList<TransferDraft> Purchase(long amountMinor)
    {
        RequirePositive(amountMinor, nameof(amountMinor));
        var id = TransferIds.For(PaymentId, TransferSteps.Purchase);
        return [Draft(id, TransferKind.Posted, BuyerOwner, MerchantOwner, amountMinor, null)];
    }

    /// <summary>Void: release the whole hold; the amount must be the authorized amount.</summary>
    public IReadOnlyList<TransferDraft> Void(Guid pendingId, long authorizedAmountMinor)
    {
        RequirePositive(authorizedAmountMinor, nameof(authorizedAmountMinor));
        var id = TransferIds.For(PaymentId, TransferSteps.Void);
        return [Draft(id, TransferKind.VoidPending, BuyerOwner, MerchantOwner, authorizedAmountMinor, pendingId)];
    }

    /// <summary>
    /// Refund (full or one of several partials): a posted reversal merchant → buyer.
    /// Call <see cref="CanRefund"/> first: account flags only guard totals across all of a
    /// merchant's payments, the per-payment limit is this rule's job.
    /// </summary>
    public IReadOnlyList<TransferDraft> Refund(Guid refundId, long amountMinor)
    {
        RequirePositive(amountMinor, nameof(amountMinor));
        var id = TransferIds.For(PaymentId, TransferSteps.Refund(refundId));
        return [Draft(id, TransferKind.Posted, MerchantOwner, BuyerOwner, amountMinor, null)];
    }

    /// <summary>
    /// A refund that failed after it succeeded (Stripe's refund_failure: the bank sent the money back): a posted transfer
    /// buyer → merchant of the refund's amount, its own id, so the refund's transfer stays as it was (transfers are
    /// immutable) and the two net to zero.
    /// </summary>
    public IReadOnlyList<TransferDraft> RefundFailure(Guid refundId, long amountMinor)
    {
        RequirePositive(amountMinor, nameof(amountMinor));
        var id = TransferIds.For(PaymentId, TransferSteps.RefundFailure(refundId));
        return [Draft(id, TransferKind.Posted, BuyerOwner, MerchantOwner, amountMinor, null)];
    }

    /// <summary>True when a refund of amountMinor fits in captured minus already refunded.</summary>
    public static bool CanRefund(long capturedMinor, long refundedMinor, long amountMinor) =>
        amountMinor > 0 && refundedMinor >= 0 && refundedMinor <= capturedMinor && amountMinor <= capturedMinor - refundedMinor;

    private TransferDraft Draft(Guid id, TransferKind kind, string debitOwner, string creditOwner, long amountMinor, Guid? pendingId) =>
        new(id, kind, debitOwner, creditOwner, amountMinor, Currency, pendingId);

    private static void RequirePositive(long amountMinor, string parameterName)
    {
        if (amountMinor <= 0)
        {
            throw new ArgumentOutOfRangeException(parameterName, amountMinor, "Ledger amounts are positive minor units.");
        }
    }
}

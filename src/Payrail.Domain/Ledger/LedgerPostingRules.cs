using Payrail.Domain.Money;

namespace Payrail.Domain.Ledger;

/// <summary>
/// The transfers each operation on one payment writes. Money flows buyer → merchant on a
/// charge and merchant → buyer on a refund; the buyer account stands for the card behind the PSP.
/// Each method returns one journal entry (the transfers of one operation) with deterministic ids.
/// Settlement (<see cref="Settle"/>) takes the fee from the merchant's payable balance and moves the net from the PSP
/// to cash, in the PSP's settlement currency (converting the merchant's captured amount through an fx account first
/// when the payment was in another currency).
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
    /// A refund's hold (full or one of several partials): a pending transfer merchant → buyer of the refund's amount, written
    /// in the batch that reserves the refund on its payment, before the PSP is asked. The merchant's debits_pending count
    /// against its debits_must_not_exceed_credits flag, so the ledger's own check refuses a refund its payable cannot take,
    /// atomically with every other refund of that merchant (the account row's lock), before any money moves at the PSP.
    /// Call <see cref="CanRefund"/> first: account flags only guard totals across all of a merchant's payments, the
    /// per-payment limit is the payment row's (its reservation under its version).
    /// </summary>
    public IReadOnlyList<TransferDraft> RefundHold(Guid refundId, long amountMinor, RefundFxBacking? backing = null)
    {
        RequirePositive(amountMinor, nameof(amountMinor));
        var id = TransferIds.For(PaymentId, TransferSteps.RefundHold(refundId));
        return [Draft(id, TransferKind.Pending, RefundSource(backing), BuyerOwner, amountMinor, null)];
    }

    /// <summary>
    /// The margin above the charge's booked rate that a backed refund's estimate holds (<see cref="FxEstimateMinor"/>), in
    /// basis points: the PSP converts the refund at its rate on the refund's day, which may have moved since the charge's.
    /// A larger move is not lost: the conversion then debits more than was held, and waits (refused, logged, retried each
    /// run) only while the merchant's payable cannot take the difference.
    /// </summary>
    public const int FxEstimateMarginBasisPoints = 300;

    /// <summary>
    /// The upper bound a refund of <paramref name="refundMinor"/> (payment's currency) is held at in the settlement currency:
    /// the integer ceiling of refund × booked charge amount / captured amount, plus <see cref="FxEstimateMarginBasisPoints"/>
    /// (ceiling again). Integer arithmetic only; an estimate, never posted: the conversion posts the PSP's booked amount.
    /// </summary>
    public static long FxEstimateMinor(long refundMinor, long capturedMinor, long bookedChargeMinor)
    {
        RequirePositive(refundMinor, nameof(refundMinor));
        RequirePositive(capturedMinor, nameof(capturedMinor));
        RequirePositive(bookedChargeMinor, nameof(bookedChargeMinor));
        const int basis = 10_000;
        var atBookedRate = ((Int128)refundMinor * bookedChargeMinor + capturedMinor - 1) / capturedMinor;
        return checked((long)((atBookedRate * (basis + FxEstimateMarginBasisPoints) + basis - 1) / basis));
    }

    /// <summary>
    /// A strict merchant's refund of a payment its PSP settled in another currency S (its payable in the payment's currency
    /// was converted to S): the refund's estimate in S held as a pending transfer merchant → fx:{C}-{S}, written before the
    /// refund's hold in the batch that reserves it. This is the transfer the merchant's flag checks (its S payable must
    /// cover it, atomically with its other refunds); the refund's hold is then drawn on fx in C (<see cref="RefundHold"/>
    /// with the backing), so the merchant's C balance, emptied by the conversion, is never touched by this refund.
    /// </summary>
    public IReadOnlyList<TransferDraft> RefundFxEstimate(Guid refundId, RefundFxBacking backing)
    {
        ArgumentNullException.ThrowIfNull(backing);
        RequirePositive(backing.EstimateMinor, nameof(backing));
        var id = TransferIds.For(PaymentId, TransferSteps.RefundFxEstimate(refundId));
        return [new TransferDraft(id, TransferKind.Pending, MerchantOwner, LedgerAccountOwner.Fx(Currency, backing.Settlement),
            backing.EstimateMinor, backing.Settlement, null)];
    }

    /// <summary>The estimate's void: when the refund fails or is canceled before it succeeded, or when its booked amount is converted.</summary>
    public IReadOnlyList<TransferDraft> RefundFxEstimateRelease(Guid refundId, RefundFxBacking backing)
    {
        ArgumentNullException.ThrowIfNull(backing);
        var id = TransferIds.For(PaymentId, TransferSteps.RefundFxEstimateRelease(refundId));
        var estimate = TransferIds.For(PaymentId, TransferSteps.RefundFxEstimate(refundId));
        return [new TransferDraft(id, TransferKind.VoidPending, MerchantOwner, LedgerAccountOwner.Fx(Currency, backing.Settlement),
            backing.EstimateMinor, backing.Settlement, estimate)];
    }

    /// <summary>
    /// The conversion of one refund-side balance transaction of a backed refund (<see cref="RefundFxEstimate"/>): the
    /// refund never left the merchant in C (fx paid the buyer), so only the settlement-currency side moves, at the PSP's
    /// booked amount: a refund line voids the estimate, then the merchant pays the booked amount to fx in S; a failure
    /// line gives the booked amount back to the merchant in S (a refund reversed after it succeeded came back to fx in C,
    /// <see cref="RefundFailure"/>). Steps in that order, each its own journal entry, ids as the unbacked conversion's.
    /// </summary>
    public IReadOnlyList<LedgerStep> ConvertBackedRefund(RefundBooking booking, Guid refundId, RefundFxBacking backing)
    {
        if (RefundBookingRefusal(booking) is { } refusal)
        {
            throw new ArgumentException($"Refund conversion refused: {refusal}.", nameof(booking));
        }

        if (booking.Failure) return [Step(CreditLeg(booking))];
        return [Step(RefundFxEstimateRelease(refundId, backing)[0]), Step(DebitLeg(booking))];
    }

    private static LedgerStep Step(TransferDraft transfer) => new(transfer.Id, transfer);

    /// <summary>Who pays a refund in the payment's currency: the merchant, or fx when the refund is backed in the settlement currency.</summary>
    private string RefundSource(RefundFxBacking? backing) =>
        backing is null ? MerchantOwner : LedgerAccountOwner.Fx(Currency, backing.Settlement);

    /// <summary>
    /// Refund succeeded: posts the whole hold (<see cref="RefundHold"/>), merchant → buyer. Posting a hold moves nothing the
    /// flag counts (pending becomes posted), so a refund the PSP made is never refused by the books.
    /// </summary>
    public IReadOnlyList<TransferDraft> Refund(Guid refundId, long amountMinor, RefundFxBacking? backing = null)
    {
        RequirePositive(amountMinor, nameof(amountMinor));
        var id = TransferIds.For(PaymentId, TransferSteps.Refund(refundId));
        var hold = TransferIds.For(PaymentId, TransferSteps.RefundHold(refundId));
        return [Draft(id, TransferKind.PostPending, RefundSource(backing), BuyerOwner, amountMinor, hold)];
    }

    /// <summary>Refund failed or canceled before it succeeded: the hold is voided whole, the payable is the merchant's again.</summary>
    public IReadOnlyList<TransferDraft> RefundRelease(Guid refundId, long amountMinor, RefundFxBacking? backing = null)
    {
        RequirePositive(amountMinor, nameof(amountMinor));
        var id = TransferIds.For(PaymentId, TransferSteps.RefundRelease(refundId));
        var hold = TransferIds.For(PaymentId, TransferSteps.RefundHold(refundId));
        return [Draft(id, TransferKind.VoidPending, RefundSource(backing), BuyerOwner, amountMinor, hold)];
    }

    /// <summary>
    /// Settlement of this payment's capture, from the PSP's balance transaction (<paramref name="booked"/>, in the
    /// settlement currency, ISO minor units): one journal entry of up to four transfers, each id derived from the payment
    /// (a re-run or a concurrent run posts nothing new).
    /// <list type="number">
    /// <item>In another currency: the captured amount leaves the merchant for fx:{C}-{S} in C, and fx:{C}-{S} gives the
    /// booked amount to the merchant in S. The merchant's payable balance moves into the settlement currency at the PSP's
    /// rate, as Stripe converts an account's balance; nothing is rounded here (the PSP rounded once).</item>
    /// <item>The fee, merchant → fees:{provider}, its own transfer (the merchant pays it: payable = captures − refunds − fees).</item>
    /// <item>The net, psp:{provider} → cash:{provider}: the PSP releases the funds to Payrail's cash.</item>
    /// </list>
    /// Call <see cref="SettlementRefusal"/> first: a balance transaction that does not fit the payment is refused, never posted.
    /// </summary>
    public IReadOnlyList<TransferDraft> Settle(string provider, long capturedMinor, SettlementBooking booked)
    {
        if (SettlementRefusal(capturedMinor, booked) is { } refusal)
        {
            throw new ArgumentException($"Settlement refused: {refusal}.", nameof(booked));
        }

        var settlement = booked.Currency;
        var transfers = new List<TransferDraft>(4);
        if (settlement != Currency)
        {
            var fx = LedgerAccountOwner.Fx(Currency, settlement);
            transfers.Add(Draft(TransferIds.For(PaymentId, TransferSteps.SettleFxOut), TransferKind.Posted,
                MerchantOwner, fx, capturedMinor, null));
            transfers.Add(new TransferDraft(TransferIds.For(PaymentId, TransferSteps.SettleFxIn), TransferKind.Posted,
                fx, MerchantOwner, booked.AmountMinor, settlement, null));
        }

        if (booked.FeeMinor > 0)
        {
            transfers.Add(new TransferDraft(TransferIds.For(PaymentId, TransferSteps.SettleFee), TransferKind.Posted,
                MerchantOwner, LedgerAccountOwner.Fees(provider), booked.FeeMinor, settlement, null));
        }

        if (booked.NetMinor > 0)
        {
            transfers.Add(new TransferDraft(TransferIds.For(PaymentId, TransferSteps.SettleCash), TransferKind.Posted,
                LedgerAccountOwner.Psp(provider), LedgerAccountOwner.Cash(provider), booked.NetMinor, settlement, null));
        }

        return transfers;
    }

    /// <summary>
    /// The settlement of a payment in another currency than the PSP's, with the refund-side balance transactions the PSP
    /// booked for it before (<paramref name="refunds"/>, each converted as <see cref="ConvertRefund"/> says, its own journal
    /// entry): the PSP took each refund from its settlement-currency balance at its own figure, so the books do too, and
    /// the merchant's payable in the payment's currency ends at zero for this payment whatever was refunded.
    /// The order is the point, for a merchant whose payable may not go negative (its flag is checked transfer by transfer):
    /// a refund already took its amount from the merchant in C (its hold, then its posting), so the captured amount can
    /// leave C only once each refund's amount came back from fx; and in S a refund's booked amount can leave only once the
    /// charge's booked amount arrived. So every credit to the merchant comes first: fx → merchant C of each refund (fx →
    /// merchant S of each failure), then merchant C → fx of the captured amount and fx → merchant S of the charge's booked
    /// amount, then merchant S → fx of each refund's booked amount (merchant C → fx of each failure), then fee and net.
    /// Each transfer keeps the journal entry of its own operation, so its id and fields are the same whichever run (or set
    /// of refunds) posts it, and a re-post is skipped by the ledger.
    /// </summary>
    public IReadOnlyList<LedgerStep> SettleWithRefunds(string provider, long capturedMinor, SettlementBooking booked,
        IReadOnlyList<RefundBooking> refunds)
    {
        if (SettlementRefusal(capturedMinor, booked, refunds) is { } refusal)
        {
            throw new ArgumentException($"Settlement refused: {refusal}.", nameof(booked));
        }

        var charge = Settle(provider, capturedMinor, booked);
        var chargeEntry = charge[0].Id;
        var conversions = refunds.Select(ConvertRefund).ToList();
        var fxLegs = conversions.Count == 0 ? 0 : 2;
        var steps = new List<LedgerStep>(charge.Count + 2 * conversions.Count);
        steps.AddRange(conversions.Select(c => new LedgerStep(c[0].Id, c[0])));
        steps.AddRange(charge.Take(fxLegs).Select(t => new LedgerStep(chargeEntry, t)));
        steps.AddRange(conversions.Select(c => new LedgerStep(c[0].Id, c[1])));
        steps.AddRange(charge.Skip(fxLegs).Select(t => new LedgerStep(chargeEntry, t)));
        return steps;
    }

    /// <summary>
    /// One refund-side balance transaction of a payment the PSP settles in another currency (a refund, or a refund's
    /// failure, booked by the PSP in the settlement currency S; posted with the charge's settlement by
    /// <see cref="SettleWithRefunds"/>, or alone when it came after): one journal entry of two transfers that
    /// move the refund between the merchant's two balances exactly as the PSP booked it. A refund: fx:{C}-{S} gives the
    /// refunded amount back to the merchant in C (where the refund's own transfer takes it to the buyer), and the merchant
    /// pays the booked amount to fx in S (the payable that sits in S since settlement). A failure: the reverse. Credit
    /// first, so that a merchant whose payable may not go negative is never refused by the entry's own order. Amounts are
    /// the PSP's two figures (the refund's own amount and its balance transaction's), never a rate of ours.
    /// </summary>
    public IReadOnlyList<TransferDraft> ConvertRefund(RefundBooking booking)
    {
        if (RefundBookingRefusal(booking) is { } refusal)
        {
            throw new ArgumentException($"Refund conversion refused: {refusal}.", nameof(booking));
        }

        return [CreditLeg(booking), DebitLeg(booking)];
    }

    /// <summary>Why a refund-side balance transaction cannot be converted for this payment, or null when it can.</summary>
    public string? RefundBookingRefusal(RefundBooking booking)
    {
        ArgumentNullException.ThrowIfNull(booking);
        if (string.IsNullOrEmpty(booking.BalanceTransaction)) return "a refund line without id";
        if (booking.Currency == Currency) return "refund booked in the payment's own currency: nothing to convert";
        if (booking.RefundedMinor <= 0 || booking.BookedMinor <= 0) return "refund amounts not positive";
        return null;
    }

    /// <summary>The leg that credits the merchant: a refund's amount back in C, or a failed refund's booked amount back in S.</summary>
    private TransferDraft CreditLeg(RefundBooking r)
    {
        var fx = LedgerAccountOwner.Fx(Currency, r.Currency);
        var id = TransferIds.For(PaymentId, TransferSteps.RefundFxCredit(r.BalanceTransaction));
        return r.Failure
            ? new TransferDraft(id, TransferKind.Posted, fx, MerchantOwner, r.BookedMinor, r.Currency, null)
            : Draft(id, TransferKind.Posted, fx, MerchantOwner, r.RefundedMinor, null);
    }

    /// <summary>The leg that debits the merchant: a refund's booked amount in S, or a failed refund's amount in C.</summary>
    private TransferDraft DebitLeg(RefundBooking r)
    {
        var fx = LedgerAccountOwner.Fx(Currency, r.Currency);
        var id = TransferIds.For(PaymentId, TransferSteps.RefundFxDebit(r.BalanceTransaction));
        return r.Failure
            ? Draft(id, TransferKind.Posted, MerchantOwner, fx, r.RefundedMinor, null)
            : new TransferDraft(id, TransferKind.Posted, MerchantOwner, fx, r.BookedMinor, r.Currency, null);
    }

    /// <summary>
    /// Why a balance transaction cannot settle this payment's capture, or null when it can: amounts positive, net = amount
    /// − fee, and in the payment's own currency the booked amount is the captured amount (a mismatch is reconciliation's
    /// to raise, not settlement's to paper over).
    /// </summary>
    public string? SettlementRefusal(long capturedMinor, SettlementBooking booked, IReadOnlyList<RefundBooking>? refunds = null)
    {
        ArgumentNullException.ThrowIfNull(booked);
        foreach (var refund in refunds ?? [])
        {
            if (RefundBookingRefusal(refund) is { } refused) return refused;
            if (refund.Currency != booked.Currency) return "a refund booked in another currency than its charge";
        }
        if (capturedMinor <= 0) return "nothing captured";
        if (booked.AmountMinor <= 0) return "booked amount not positive";
        if (booked.FeeMinor < 0 || booked.FeeMinor > booked.AmountMinor) return "fee outside [0, amount]";
        if (booked.NetMinor != booked.AmountMinor - booked.FeeMinor) return "net is not amount - fee";
        return booked.Currency == Currency && booked.AmountMinor != capturedMinor ? "booked amount differs from the captured amount" : null;
    }

    /// <summary>
    /// A refund that failed after it succeeded (Stripe's refund_failure: the bank sent the money back): a posted transfer
    /// buyer → merchant (fx, for a backed refund) of the refund's amount, its own id, so the refund's transfer stays as it
    /// was (transfers are immutable) and the two net to zero.
    /// </summary>
    public IReadOnlyList<TransferDraft> RefundFailure(Guid refundId, long amountMinor, RefundFxBacking? backing = null)
    {
        RequirePositive(amountMinor, nameof(amountMinor));
        var id = TransferIds.For(PaymentId, TransferSteps.RefundFailure(refundId));
        return [Draft(id, TransferKind.Posted, BuyerOwner, RefundSource(backing), amountMinor, null)];
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

/// <summary>What the PSP booked for a capture, in its settlement currency (ISO minor units): gross, fee and net.</summary>
public sealed record SettlementBooking(Currency Currency, long AmountMinor, long FeeMinor, long NetMinor);

/// <summary>
/// What the PSP booked for one refund of a payment, or for a refund's failure (<paramref name="Failure"/>), in its
/// settlement currency: the balance transaction's id, the refund's own amount in the payment's currency and the booked
/// amount in the settlement currency (both positive, ISO minor units; the balance transaction's sign is the kind's).
/// </summary>
public sealed record RefundBooking(string BalanceTransaction, bool Failure, long RefundedMinor, Currency Currency, long BookedMinor);

/// <summary>
/// How a strict merchant's refund of a payment settled in another currency is backed: the settlement currency and the
/// estimate held there (<see cref="LedgerPostingRules.RefundFxEstimate"/>, ISO minor units).
/// </summary>
public sealed record RefundFxBacking(Currency Settlement, long EstimateMinor);

/// <summary>One transfer to post and the journal entry (operation) it belongs to, for posting rules whose order interleaves entries.</summary>
public sealed record LedgerStep(Guid JournalEntryId, TransferDraft Transfer);

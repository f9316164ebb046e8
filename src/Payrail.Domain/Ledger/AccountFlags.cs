namespace Payrail.Domain.Ledger;

/// <summary>Balance guards, as in TigerBeetle. Checked by the ledger on every transfer.</summary>
[Flags]
public enum AccountFlags
{
    None = 0,

    /// <summary>debits_pending + debits_posted must stay ≤ credits_posted.</summary>
    DebitsMustNotExceedCredits = 1,

    /// <summary>credits_pending + credits_posted must stay ≤ debits_posted.</summary>
    CreditsMustNotExceedDebits = 2,
}

public static class LedgerAccounts
{
    /// <summary>
    /// Merchant accounts cannot be debited beyond what they were credited (a refund or a fee never takes
    /// more than the merchant's payable balance); buyer accounts cannot be credited beyond what they were
    /// debited (we never give back more than we charged); cash and fees cannot give more than they received.
    /// The PSP and conversion accounts are counterparties: they only give (psp) or give in one currency what
    /// they take in another (fx), so no per-account limit applies.
    /// </summary>
    public static AccountFlags FlagsFor(string owner) => FlagsFor(owner, merchantPayableMayGoNegative: false);

    /// <summary>
    /// As <see cref="FlagsFor(string)"/>; a merchant allowed a negative payable balance (merchants.payable_may_go_negative,
    /// migration 0019: a refund after settlement may then draw it below zero) has no limit on its debits.
    /// </summary>
    public static AccountFlags FlagsFor(string owner, bool merchantPayableMayGoNegative)
    {
        ArgumentNullException.ThrowIfNull(owner);
        if (LedgerAccountOwner.IsMerchant(owner))
        {
            return merchantPayableMayGoNegative ? AccountFlags.None : AccountFlags.DebitsMustNotExceedCredits;
        }

        if (LedgerAccountOwner.IsBuyer(owner))
        {
            return AccountFlags.CreditsMustNotExceedDebits;
        }

        if (LedgerAccountOwner.IsCash(owner) || LedgerAccountOwner.IsFees(owner))
        {
            return AccountFlags.DebitsMustNotExceedCredits;
        }

        if (LedgerAccountOwner.IsPsp(owner) || LedgerAccountOwner.IsFx(owner))
        {
            return AccountFlags.None;
        }

        throw new ArgumentException($"'{owner}' is not a ledger account owner (buyer:, merchant:, psp:, cash:, fees:, fx:).", nameof(owner));
    }

    /// <summary>
    /// A PSP fee charged to a merchant (a posted transfer merchant → fees:{provider}, settlement). It is a fact at the PSP,
    /// already taken from the funds it released, so the books must record it even when the merchant's payable cannot
    /// cover it: a strict merchant whose payable is held by pending refunds (or was refunded in full before settlement)
    /// goes below zero by the fee, never by a refund. The flags therefore do not refuse it, and the invariant they keep reads "debits other
    /// than fees must not exceed credits" (migration 0022, <c>payrail ledger verify</c>, <see cref="LedgerBook"/>).
    /// Refunds still count every debit, fees included, when they are held, so none can draw on a fee's overdraft.
    /// </summary>
    public static bool IsFeeCharge(TransferDraft transfer)
    {
        ArgumentNullException.ThrowIfNull(transfer);
        return transfer.Kind == TransferKind.Posted
            && LedgerAccountOwner.IsMerchant(transfer.DebitOwner) && LedgerAccountOwner.IsFees(transfer.CreditOwner);
    }

    /// <summary>
    /// Whether the flags are checked for this transfer: not for a post or void of a pending transfer (it never raises what
    /// a flag counts: the whole pending amount leaves, at most that much is posted), and not for a fee charge
    /// (<see cref="IsFeeCharge"/>). A refund the PSP made posts its hold however the merchant's payable moved meanwhile.
    /// </summary>
    public static bool FlagsChecked(TransferDraft transfer) =>
        transfer.Kind is not (TransferKind.PostPending or TransferKind.VoidPending) && !IsFeeCharge(transfer);
}

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
    /// Merchant accounts cannot be debited beyond what they were credited (a refund never takes
    /// more than the merchant earned); buyer accounts cannot be credited beyond what they were
    /// debited (we never give back more than we charged).
    /// </summary>
    public static AccountFlags FlagsFor(string owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        if (LedgerAccountOwner.IsMerchant(owner))
        {
            return AccountFlags.DebitsMustNotExceedCredits;
        }

        if (LedgerAccountOwner.IsBuyer(owner))
        {
            return AccountFlags.CreditsMustNotExceedDebits;
        }

        throw new ArgumentException($"'{owner}' is not a ledger account owner (buyer:… or merchant:…).", nameof(owner));
    }
}

using Payrail.Domain.Money;

namespace Payrail.Domain.Ledger;

/// <summary>A snapshot of one account's balance columns, TigerBeetle-style. All columns are ≥ 0.</summary>
public sealed record LedgerAccount(
    string Owner,
    Currency Currency,
    AccountFlags Flags,
    long DebitsPending,
    long DebitsPosted,
    long CreditsPending,
    long CreditsPosted)
{
    public static LedgerAccount Open(string owner, Currency currency) =>
        new(owner, currency, LedgerAccounts.FlagsFor(owner), 0, 0, 0, 0);

    /// <summary>TigerBeetle's rule: posted and pending debits count against posted credits only.</summary>
    public bool DebitsExceedCredits => checked(DebitsPending + DebitsPosted) > CreditsPosted;

    /// <summary>TigerBeetle's rule: posted and pending credits count against posted debits only.</summary>
    public bool CreditsExceedDebits => checked(CreditsPending + CreditsPosted) > DebitsPosted;

    /// <summary>True when the account's flags hold for these columns.</summary>
    public bool RespectsFlags => RespectsFlagsBesides(0);

    /// <summary>
    /// True when the flags hold for these columns less <paramref name="feeDebitsMinor"/>, the fees charged to this account
    /// (<see cref="LedgerAccounts.IsFeeCharge"/>: facts the flags do not refuse).
    /// </summary>
    public bool RespectsFlagsBesides(long feeDebitsMinor) =>
        (!Flags.HasFlag(AccountFlags.DebitsMustNotExceedCredits) || checked(DebitsPending + DebitsPosted - feeDebitsMinor) <= CreditsPosted)
        && (!Flags.HasFlag(AccountFlags.CreditsMustNotExceedDebits) || !CreditsExceedDebits);
}

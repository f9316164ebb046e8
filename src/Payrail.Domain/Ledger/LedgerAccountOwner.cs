namespace Payrail.Domain.Ledger;

/// <summary>
/// Ledger account owners. With the currency they name one account. Money flows from the debited owner to the credited
/// one (buyer → merchant on a charge), so a party's credit balance is what it holds and a counterparty's debit balance
/// is what came from it.
/// buyer:{id} is the buyer's funding source (the card, via the PSP);
/// merchant:{id} is what Payrail owes the merchant: its payable balance (captures − refunds − fees);
/// psp:{provider} is the PSP as counterparty, the receivable side: its debit balance is what the PSP has released to
/// Payrail's cash (the captured funds not yet released are the merchants' balances of unsettled payments);
/// cash:{provider} is Payrail's cash from that PSP's settlements (its available balance, paid out to the bank);
/// fees:{provider} is what the PSP charged in fees (merchants pay them out of their payable balance);
/// fx:{FROM}-{TO} converts a payment's currency into the PSP's settlement currency at the PSP's rate: it takes the
/// FROM amount in its FROM account and gives the TO amount from its TO account (each currency balances on its own).
/// </summary>
public static class LedgerAccountOwner
{
    public const string BuyerPrefix = "buyer:";
    public const string MerchantPrefix = "merchant:";
    public const string PspPrefix = "psp:";
    public const string CashPrefix = "cash:";
    public const string FeesPrefix = "fees:";
    public const string FxPrefix = "fx:";

    public static string Buyer(string buyerId) => BuyerPrefix + CheckId(buyerId, nameof(buyerId));

    public static string Merchant(string merchantId) => MerchantPrefix + CheckId(merchantId, nameof(merchantId));

    public static string Psp(string provider) => PspPrefix + CheckId(provider, nameof(provider));

    public static string Cash(string provider) => CashPrefix + CheckId(provider, nameof(provider));

    public static string Fees(string provider) => FeesPrefix + CheckId(provider, nameof(provider));

    /// <summary>The conversion account of one currency pair, e.g. fx:EUR-USD (used in both currencies).</summary>
    public static string Fx(Money.Currency from, Money.Currency to)
    {
        if (from == to) throw new ArgumentException("A conversion needs two different currencies.", nameof(to));
        return $"{FxPrefix}{from.Code}-{to.Code}";
    }

    public static bool IsPsp(string owner) => HasPrefix(owner, PspPrefix);

    public static bool IsCash(string owner) => HasPrefix(owner, CashPrefix);

    public static bool IsFees(string owner) => HasPrefix(owner, FeesPrefix);

    public static bool IsFx(string owner) => HasPrefix(owner, FxPrefix);

    /// <summary>Any owner kind above (the ledger refuses others).</summary>
    public static bool IsKnown(string? owner) =>
        owner is not null && (IsBuyer(owner) || IsMerchant(owner) || IsPsp(owner) || IsCash(owner) || IsFees(owner) || IsFx(owner));

    private static bool HasPrefix(string owner, string prefix) =>
        owner.StartsWith(prefix, StringComparison.Ordinal) && owner.Length > prefix.Length;

    public static bool IsBuyer(string owner) => owner.StartsWith(BuyerPrefix, StringComparison.Ordinal) && owner.Length > BuyerPrefix.Length;

    public static bool IsMerchant(string owner) => owner.StartsWith(MerchantPrefix, StringComparison.Ordinal) && owner.Length > MerchantPrefix.Length;

    // Whitespace or control characters in an id would make two owners look alike in logs and SQL dumps.
    private static string CheckId(string id, string parameterName)
    {
        ArgumentException.ThrowIfNullOrEmpty(id, parameterName);
        if (id.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new ArgumentException("An account owner id has no whitespace or control characters.", parameterName);
        }

        return id;
    }
}

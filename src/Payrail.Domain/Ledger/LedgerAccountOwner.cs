namespace Payrail.Domain.Ledger;

/// <summary>
/// Ledger account owners. With the currency they name one account.
/// buyer:{id} is the buyer's funding source (the card, via the PSP);
/// merchant:{id} is what Payrail owes the merchant.
/// </summary>
public static class LedgerAccountOwner
{
    public const string BuyerPrefix = "buyer:";
    public const string MerchantPrefix = "merchant:";

    public static string Buyer(string buyerId) => BuyerPrefix + CheckId(buyerId, nameof(buyerId));

    public static string Merchant(string merchantId) => MerchantPrefix + CheckId(merchantId, nameof(merchantId));

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

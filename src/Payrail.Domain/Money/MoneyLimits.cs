namespace Payrail.Domain.Money;

/// <summary>Bounds on a single payment. The one place to change them.</summary>
public static class MoneyLimits
{
    /// <summary>
    /// Stripe's per-charge ceiling: 8 digits of minor units in every currency
    /// (999,999.99 USD, 99,999,999 JPY). Keeping ours the same means no payment we accept
    /// can be refused by the PSP for size.
    /// </summary>
    private const long MaxAmountMinorAllCurrencies = 99_999_999;

    public static long MaxAmountMinor(Currency currency)
    {
        ArgumentNullException.ThrowIfNull(currency);
        return MaxAmountMinorAllCurrencies;
    }

    /// <summary>True when the amount is positive and within the single-payment limit.</summary>
    public static bool IsChargeable(long amountMinor, Currency currency) =>
        amountMinor > 0 && amountMinor <= MaxAmountMinor(currency);
}

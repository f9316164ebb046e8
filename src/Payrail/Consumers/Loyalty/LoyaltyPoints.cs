using Payrail.Domain.Money;

namespace Payrail.Consumers.Loyalty;

/// <summary>The points arithmetic, integers only: earning floors, a reversal is proportional to the refunded share.</summary>
public static class LoyaltyPoints
{
    /// <summary>Points for <paramref name="amountMinor"/>: rate per whole unit, floored (1999 USD cents at 10/USD = 199).</summary>
    public static long Earned(long amountMinor, string currencyCode, long pointsPerUnit)
    {
        var scale = MinorUnits.Pow10(Currency.FromCode(currencyCode).Exponent);
        return (long)((Int128)amountMinor * pointsPerUnit / scale);
    }

    /// <summary>
    /// Points to take back now: the refunded share of what was earned (floored), less what earlier reversals took.
    /// Never negative and never more than what is left, so the buyer's points for a payment stay within [0, earned].
    /// </summary>
    public static long ToReverse(long earned, long alreadyReversed, long amountRefundedMinor, long amountCapturedMinor)
    {
        if (earned <= 0 || amountCapturedMinor <= 0) return 0;
        var refunded = Math.Min(amountRefundedMinor, amountCapturedMinor);
        var target = (long)((Int128)earned * refunded / amountCapturedMinor);
        return Math.Clamp(target - alreadyReversed, 0, earned - alreadyReversed);
    }

    /// <summary>
    /// Points to give back when a refund is reversed: what reversals took beyond the refunded share that remains
    /// (<paramref name="amountRefundedMinor"/> after the reversal), so the buyer ends as if that refund never happened.
    /// Never negative and never more than was reversed.
    /// </summary>
    public static long ToReinstate(long earned, long alreadyReversed, long amountRefundedMinor, long amountCapturedMinor)
    {
        if (earned <= 0 || amountCapturedMinor <= 0 || alreadyReversed <= 0) return 0;
        var refunded = Math.Clamp(amountRefundedMinor, 0, amountCapturedMinor);
        var target = (long)((Int128)earned * refunded / amountCapturedMinor);
        return Math.Clamp(alreadyReversed - target, 0, alreadyReversed);
    }
}

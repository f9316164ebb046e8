namespace Payrail.Consumers.Fraud;

/// <summary>
/// What the sliding windows counted for one event, this event included, each counted only until it is past every
/// rule's limit (<see cref="FraudHandler.CountBound"/>). Null instrument: the event names none.
/// </summary>
public sealed record FraudWindowCounts(long BuyerPayments, long? InstrumentPayments, long BuyerDeclines);

/// <summary>A review: a score from 0 to 100 and the rules that fired, by stable name.</summary>
public sealed record FraudVerdict(int Score, IReadOnlyList<string> Reasons);

/// <summary>The fraud rules, a pure function of the window counts, the amount and <see cref="FraudOptions"/>.</summary>
public static class FraudRules
{
    public const string BuyerVelocity = "buyer_velocity";
    public const string InstrumentVelocity = "instrument_velocity";
    public const string AmountOverThreshold = "amount_over_threshold";
    public const string DeclineBurst = "decline_burst";

    private const int BuyerVelocityPoints = 40;
    private const int InstrumentVelocityPoints = 40;
    private const int AmountPoints = 30;
    private const int DeclineBurstPoints = 50;
    public const int MaxScore = 100;

    public static FraudVerdict Evaluate(FraudWindowCounts counts, long amountMinor, string currency, FraudOptions options)
    {
        var reasons = new List<string>();
        var score = 0;
        if (counts.BuyerPayments > options.MaxPaymentsPerBuyer) Fire(BuyerVelocity, BuyerVelocityPoints);
        if (counts.InstrumentPayments > options.MaxPaymentsPerInstrument) Fire(InstrumentVelocity, InstrumentVelocityPoints);
        if (options.AmountThresholdsMinor.TryGetValue(currency, out var threshold) && amountMinor > threshold) Fire(AmountOverThreshold, AmountPoints);
        if (counts.BuyerDeclines >= options.MaxDeclinesPerBuyer) Fire(DeclineBurst, DeclineBurstPoints);
        return new FraudVerdict(Math.Min(score, MaxScore), reasons);

        void Fire(string reason, int points)
        {
            reasons.Add(reason);
            score += points;
        }
    }
}

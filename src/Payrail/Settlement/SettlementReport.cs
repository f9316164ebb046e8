namespace Payrail.Settlement;

/// <summary>
/// What one settlement run did. <see cref="Settled"/>: payments moved to SETTLED now; <see cref="Unchanged"/>: charges
/// whose payment is not CAPTURED at Payrail (already settled, refunded, or not ours); <see cref="NotYetAvailable"/>:
/// charges the PSP has not released yet (their payments stay CAPTURED); <see cref="Refused"/>: charges that could not
/// settle their payment (a booking that does not fit it, a payable balance too small for the conversion, a state the
/// machine refuses), each logged.
/// </summary>
public sealed record SettlementReport(
    DateOnly Date, string Trigger, DateTimeOffset StartedAt, TimeSpan Duration,
    int LinesRead, int Settled, int Unchanged, int NotYetAvailable, int Refused)
{
    public const string ScheduleTrigger = "schedule";
    public const string OnceTrigger = "once";

    /// <summary>Refund-side balance transactions of payments settled earlier in another currency, converted by this run.</summary>
    public int RefundLinesConverted { get; init; }

    public string Summary => $"{Date:yyyy-MM-dd} settled {Settled}, unchanged {Unchanged}, not yet available {NotYetAvailable}, refused {Refused}{(RefundLinesConverted > 0 ? $", refund lines converted {RefundLinesConverted}" : "")} ({LinesRead} lines)";
}

namespace Payrail.Reconciliation;

/// <summary>The time rules a decision needs (from <see cref="ReconciliationOptions"/>), so the decision stays pure.</summary>
public sealed record MatchingClock(DateTimeOffset Now, TimeSpan TimingWindow, TimeSpan SettlementGrace);

/// <summary>
/// The pure decision for one key: the PSP's lines with that key (usually one) and Payrail's movement with it (at most one:
/// PSP references and refund ids are unique at Payrail). Exact matching on reference, kind, amount and currency; a timing
/// window only where the counterpart may legitimately arrive later (a webhook on its way, a fee booked at settlement).
/// A key belongs to the window of its PSP line's creation, or, with none, of Payrail's movement: both sides are read a
/// little beyond the window (the clock skew), so a pair split by midnight is decided once, by the PSP's day.
/// </summary>
public static class LineMatching
{
    private static readonly string[] CapturedStatuses = ["captured", "settled", "refunded"];
    private static readonly string[] EarlierStatuses = ["initiated", "processing", "authorized"];

    /// <summary>The verdicts of one key; empty when the key belongs to a neighbouring window or moves nothing.</summary>
    public static IReadOnlyList<LineVerdict> Decide(IReadOnlyList<PspLine> psp, PayrailLine? payrail, ReconciliationWindow window, MatchingClock clock)
    {
        if (psp.Count == 0)
        {
            if (payrail is null || !window.Contains(payrail.At)) return [];
            return PayrailOnly(payrail, clock) is { } only ? [only] : [];
        }
        if (!window.Contains(psp[0].CreatedAt)) return [];
        var verdicts = new List<LineVerdict>(psp.Count) { payrail is null ? PspOnly(psp[0], clock) : Pair(psp[0], payrail, clock) };
        for (var i = 1; i < psp.Count; i++)
        {
            verdicts.Add(Verdict(psp[i], payrail, Buckets.Duplicate,
                $"the PSP reports {psp.Count} {LineKinds.Wire(psp[i].Kind)} lines for {psp[i].Reference}; the first ({psp[0].LineId}) is compared"));
        }
        return verdicts;
    }

    private static LineVerdict? PayrailOnly(PayrailLine payrail, MatchingClock clock)
    {
        var recent = payrail.At > clock.Now - clock.TimingWindow;
        switch (payrail.Kind)
        {
            case LineKind.Charge when CapturedStatuses.Contains(payrail.Status):
                return recent
                    ? Verdict(null, payrail, Buckets.Expected, "captured at Payrail moments ago; the PSP's report may not show it yet")
                    : Verdict(null, payrail, Buckets.MissingAtPsp, $"{payrail.Status} at Payrail; the PSP reports no charge");
            case LineKind.Fee when payrail.AmountMinor is not null:
                return Verdict(null, payrail, Buckets.MissingAtPsp, "settled at Payrail; the PSP reports no charge, so no fee");
            case LineKind.Refund:
                return recent
                    ? Verdict(null, payrail, Buckets.Expected, "refund made moments ago; the PSP's report may not show it yet")
                    : Verdict(null, payrail, Buckets.MissingAtPsp, $"refund {payrail.Status} at Payrail; the PSP reports no refund");
            case LineKind.RefundFailure when payrail.Status is "failed" or "canceled":
                return recent
                    ? Verdict(null, payrail, Buckets.Expected, "refund failed moments ago; the PSP's report may not show it yet")
                    : Verdict(null, payrail, Buckets.MissingAtPsp, $"refund {payrail.Status} at Payrail; the PSP reports no money back");
            default:
                return null; // Payrail moved nothing for this key (not captured, not settled, refund not failed).
        }
    }

    private static LineVerdict PspOnly(PspLine line, MatchingClock clock)
    {
        if (line.Kind == LineKind.Fee) return Unsettled(line, null, clock);
        if (line.CreatedAt > clock.Now - clock.TimingWindow)
            return Verdict(line, null, Buckets.Expected, "made at the PSP moments ago; its webhook may still be on its way");
        return line.Kind switch
        {
            LineKind.Charge => Verdict(line, null, Buckets.MissingInPayrail, "no payment at Payrail has this PSP reference; nothing to replay"),
            _ => Verdict(line, null, Buckets.MissingInPayrail, "no refund at Payrail has this PSP refund id; nothing to replay"),
        };
    }

    private static LineVerdict Pair(PspLine line, PayrailLine payrail, MatchingClock clock) => line.Kind switch
    {
        LineKind.Charge => Charge(line, payrail, clock),
        LineKind.Fee => Fee(line, payrail, clock),
        LineKind.Refund => Refund(line, payrail, clock),
        _ => RefundFailure(line, payrail, clock),
    };

    private static LineVerdict Charge(PspLine line, PayrailLine payrail, MatchingClock clock)
    {
        if (CapturedStatuses.Contains(payrail.Status))
        {
            if (payrail.CurrencyCode != line.CurrencyCode || payrail.AmountMinor != line.AmountMinor)
            {
                return Verdict(line, payrail, Buckets.AmountMismatch,
                    $"the PSP captured {line.AmountMinor} {line.CurrencyCode}, Payrail recorded {payrail.AmountMinor} {payrail.CurrencyCode}");
            }
            return Settled(line, payrail, "captured on both sides, same amount and currency");
        }
        if (EarlierStatuses.Contains(payrail.Status)) return Behind(line, payrail, clock, LineAction.ReplayPayment, $"captured at the PSP, {payrail.Status} at Payrail");
        return Verdict(line, payrail, Buckets.StatusMismatch, $"captured at the PSP, {payrail.Status} at Payrail");
    }

    private static LineVerdict Fee(PspLine line, PayrailLine payrail, MatchingClock clock)
    {
        if (payrail.AmountMinor is null) return Unsettled(line, payrail, clock);
        if (payrail.CurrencyCode != line.CurrencyCode || payrail.AmountMinor != line.AmountMinor)
        {
            return Verdict(line, payrail, Buckets.FeeMismatch,
                $"the PSP's fee is {line.AmountMinor} {line.CurrencyCode}, settlement booked {payrail.AmountMinor} {payrail.CurrencyCode}");
        }
        return Verdict(line, payrail, Buckets.Matched, "fee booked at settlement as the PSP reports it");
    }

    /// <summary>A fee line of a payment Payrail has not settled: expected until the PSP's release plus the settlement's grace.</summary>
    private static LineVerdict Unsettled(PspLine line, PayrailLine? payrail, MatchingClock clock) =>
        line.AvailableOn + clock.SettlementGrace > clock.Now
            ? Verdict(line, payrail, Buckets.Expected, "the fee is booked at settlement, after the PSP releases the funds")
            : Verdict(line, payrail, Buckets.StatusMismatch, "the PSP released the funds; Payrail has not settled the payment");

    private static LineVerdict Refund(PspLine line, PayrailLine payrail, MatchingClock clock)
    {
        if (payrail.CurrencyCode != line.CurrencyCode || payrail.AmountMinor != line.AmountMinor)
        {
            return Verdict(line, payrail, Buckets.AmountMismatch,
                $"the PSP refunded {line.AmountMinor} {line.CurrencyCode}, Payrail recorded {payrail.AmountMinor} {payrail.CurrencyCode}");
        }
        var psp = line.SourceStatus ?? "unknown";
        if (psp == payrail.Status)
        {
            return psp == "pending"
                ? Verdict(line, payrail, Buckets.Expected, "refund pending on both sides; the PSP decides it later")
                : Settled(line, payrail, $"refund {psp} on both sides, same amount and currency");
        }
        // Payrail's refund may follow the PSP's: pending → decided, succeeded → failed (the bank sent it back).
        var behind = (payrail.Status == "pending" && psp is "succeeded" or "failed" or "canceled")
                     || (payrail.Status == "succeeded" && psp == "failed");
        return behind
            ? Behind(line, payrail, clock, LineAction.ReplayRefund, $"refund {psp} at the PSP, {payrail.Status} at Payrail")
            : Verdict(line, payrail, Buckets.StatusMismatch, $"refund {psp} at the PSP, {payrail.Status} at Payrail");
    }

    private static LineVerdict RefundFailure(PspLine line, PayrailLine payrail, MatchingClock clock)
    {
        if (payrail.Status is "failed" or "canceled")
        {
            return payrail.CurrencyCode != line.CurrencyCode || payrail.AmountMinor != line.AmountMinor
                ? Verdict(line, payrail, Buckets.AmountMismatch,
                    $"the PSP gave back {line.AmountMinor} {line.CurrencyCode}, Payrail's refund was {payrail.AmountMinor} {payrail.CurrencyCode}")
                : Settled(line, payrail, $"refund {payrail.Status} on both sides, the money given back");
        }
        return Behind(line, payrail, clock, LineAction.ReplayRefund, $"refund failed at the PSP, {payrail.Status} at Payrail");
    }

    /// <summary>Matched, or repaired when an earlier replay (claimed in reconciliation_replays) is what brought it level.</summary>
    private static LineVerdict Settled(PspLine line, PayrailLine payrail, string reason) =>
        payrail.Replayed
            ? Verdict(line, payrail, Buckets.Repaired, "replayed from the PSP through the state-change path")
            : Verdict(line, payrail, Buckets.Matched, reason);

    /// <summary>Payrail holds an earlier state: replayed once (never twice across runs), unless it is young enough to be on its way.</summary>
    private static LineVerdict Behind(PspLine line, PayrailLine payrail, MatchingClock clock, LineAction action, string reason)
    {
        if (line.CreatedAt > clock.Now - clock.TimingWindow)
            return Verdict(line, payrail, Buckets.Expected, reason + "; its webhook may still be on its way");
        return payrail.Replayed
            ? Verdict(line, payrail, Buckets.MissingInPayrail, reason + "; replayed once already, still behind")
            : Verdict(line, payrail, Buckets.MissingInPayrail, reason, action);
    }

    private static LineVerdict Verdict(PspLine? line, PayrailLine? payrail, string bucket, string reason, LineAction action = LineAction.None) =>
        new(line?.Key ?? payrail!.Key, line?.Kind ?? payrail!.Kind, bucket, reason, line?.LineId, payrail?.PaymentId, payrail?.RefundId,
            line?.CurrencyCode ?? payrail?.CurrencyCode, line?.AmountMinor, payrail?.AmountMinor, action);
}

namespace Payrail.Reconciliation;

/// <summary>What a line moves. Fees are their own lines (issue 13: "fees as their own lines").</summary>
public enum LineKind
{
    Charge,
    Fee,
    Refund,
    RefundFailure,
}

/// <summary>The buckets of issue 13, with their wire names (reports, items, metrics).</summary>
public static class Buckets
{
    public const string Matched = "matched";
    public const string Repaired = "repaired";
    public const string MissingInPayrail = "missing_in_payrail";
    public const string MissingAtPsp = "missing_at_psp";
    public const string AmountMismatch = "amount_mismatch";
    public const string FeeMismatch = "fee_mismatch";
    public const string StatusMismatch = "status_mismatch";
    public const string Duplicate = "duplicate";
    public const string Expected = "expected";

    public static IReadOnlyList<string> All { get; } =
        [Matched, Repaired, MissingInPayrail, MissingAtPsp, AmountMismatch, FeeMismatch, StatusMismatch, Duplicate, Expected];

    /// <summary>A break: alerted (event, error log, metric, exit code 2). Matched, repaired and expected are not.</summary>
    public static bool IsBreak(string bucket) => bucket is not (Matched or Repaired or Expected);
}

public static class LineKinds
{
    public static string Wire(LineKind kind) => kind switch
    {
        LineKind.Charge => "charge",
        LineKind.Fee => "fee",
        LineKind.Refund => "refund",
        LineKind.RefundFailure => "refund_failure",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static LineKind Parse(string wire) => wire switch
    {
        "charge" => LineKind.Charge,
        "fee" => LineKind.Fee,
        "refund" => LineKind.Refund,
        "refund_failure" => LineKind.RefundFailure,
        _ => throw new FormatException($"unknown line kind {wire}"),
    };

    /// <summary>What both sides are merged on: the PSP object the line is about, then the kind.</summary>
    public static string Key(string reference, LineKind kind) => reference + "|" + Wire(kind);

    /// <summary>The PSP object a key is about (its part before the kind).</summary>
    public static string Reference(string key) => key.LastIndexOf('|') is var bar and > 0 ? key[..bar] : key;
}

/// <summary>
/// One line of the PSP's report as reconciliation compares it. Charge and refund lines carry the source object's own amount
/// and currency (what Payrail recorded); a fee line carries the fee in the settlement currency (what settlement booked).
/// </summary>
public sealed record PspLine(
    string Key,
    LineKind Kind,
    string LineId,
    string Reference,
    long AmountMinor,
    string CurrencyCode,
    string? SourceStatus,
    long NetMinor,
    DateTimeOffset CreatedAt,
    DateTimeOffset AvailableOn);

/// <summary>
/// One PSP line as a run stages it. A charge's balance transaction is staged once, its fee (amount and settlement
/// currency) beside it, and becomes its two lines (charge, fee) when merged: half the rows to copy and sort (measured on
/// `bench reconcile`: the merge's sort was most of PostgreSQL's time).
/// </summary>
public sealed record StagedLine(PspLine Line, long FeeMinor = 0, string? FeeCurrencyCode = null)
{
    /// <summary>The fee line of a charge's balance transaction (same PSP line, reference and times).</summary>
    public static PspLine FeeOf(PspLine charge, long feeMinor, string feeCurrencyCode) =>
        charge with { Key = LineKinds.Key(charge.Reference, LineKind.Fee), Kind = LineKind.Fee, AmountMinor = feeMinor, CurrencyCode = feeCurrencyCode };
}

/// <summary>
/// Payrail's side of a key. Charge: the payment (any status: an earlier one is what a lost webhook leaves), its captured
/// amount. Fee: the payment's settlement (null when not settled) with the ledger's fee and PSP → cash transfers. Refund
/// and refund failure: the refund, its status and amount. <see cref="At"/>: when the movement happened at Payrail.
/// </summary>
public sealed record PayrailLine(
    string Key,
    LineKind Kind,
    Guid PaymentId,
    Guid? RefundId,
    string Status,
    long? AmountMinor,
    string? CurrencyCode,
    DateTimeOffset At,
    long? LedgerFeeMinor = null,
    long? LedgerNetMinor = null,
    /// <summary>A replay of this key was claimed by an earlier run (or this one).</summary>
    bool Replayed = false);

/// <summary>The window of a run: [From, To) on the PSP's clock for its lines, on Payrail's for its own movements.</summary>
public sealed record ReconciliationWindow(DateTimeOffset From, DateTimeOffset To)
{
    public bool Contains(DateTimeOffset at) => at >= From && at < To;

    public override string ToString() => $"[{From:yyyy-MM-ddTHH:mm:ssZ}, {To:yyyy-MM-ddTHH:mm:ssZ})";
}

/// <summary>What to do about a line besides recording it.</summary>
public enum LineAction
{
    None,
    /// <summary>Re-fetch the PaymentIntent and apply it through PaymentTransitions.</summary>
    ReplayPayment,
    /// <summary>Re-fetch the refund and apply it through RefundTransitions.</summary>
    ReplayRefund,
}

/// <summary>One line's result: its bucket and reason, what it was matched with, and what to do.</summary>
public sealed record LineVerdict(
    string Key,
    LineKind Kind,
    string Bucket,
    string Reason,
    string? PspLineId,
    Guid? PaymentId,
    Guid? RefundId,
    string? CurrencyCode,
    long? PspAmountMinor,
    long? PayrailAmountMinor,
    LineAction Action = LineAction.None);

/// <summary>A window cut into slices for readers that list it at once.</summary>
public static class WindowSlices
{
    /// <summary>
    /// [from, to) as at most <paramref name="count"/> adjacent slices cut at whole seconds (the PSP's created filters are
    /// whole seconds: a cut inside a second would list that second's lines twice or not at all). A window of fewer seconds
    /// than <paramref name="count"/> gets fewer slices.
    /// </summary>
    public static IReadOnlyList<(DateTimeOffset From, DateTimeOffset To)> Cut(DateTimeOffset from, DateTimeOffset to, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var first = from.ToUnixTimeSeconds();
        var seconds = to.ToUnixTimeSeconds() - first;
        var slices = new List<(DateTimeOffset, DateTimeOffset)>(count);
        var start = from;
        for (var i = 1; i < count; i++)
        {
            var cut = DateTimeOffset.FromUnixTimeSeconds(first + seconds * i / count);
            if (cut <= start || cut >= to) continue;
            slices.Add((start, cut));
            start = cut;
        }
        slices.Add((start, to));
        return slices;
    }
}

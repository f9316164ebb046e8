using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Payrail.Reconciliation;

/// <summary>A currency whose ledger movements (fees, PSP → cash) differ from the PSP's fee and net totals of the settled charges.</summary>
public sealed record LedgerDifference(string CurrencyCode, long PspFeeMinor, long LedgerFeeMinor, long PspNetMinor, long LedgerNetMinor);

/// <summary>What one completed run found (issue 13): counts per bucket, the ledger cross-check, the result hash, its report files.</summary>
public sealed record ReconciliationReport(
    long RunId,
    string Psp,
    ReconciliationWindow Window,
    string Trigger,
    bool DryRun,
    DateTimeOffset StartedAt,
    TimeSpan Duration,
    long PspLines,
    long SkippedLines,
    long Items,
    IReadOnlyDictionary<string, long> Buckets,
    IReadOnlyList<LedgerDifference> LedgerDifferences,
    long Replayed,
    string ResultHash,
    string? CsvPath,
    string? JsonPath)
{
    public const string OnceTrigger = "once";
    public const string ScheduleTrigger = "schedule";
    public const string BenchTrigger = "bench";

    /// <summary>Lines in a break bucket plus currencies whose ledger differs: anything above zero alerts and exits 2.</summary>
    public long Breaks => Buckets.Where(b => Reconciliation.Buckets.IsBreak(b.Key)).Sum(b => b.Value) + LedgerDifferences.Count;

    public long Count(string bucket) => Buckets.TryGetValue(bucket, out var n) ? n : 0;

    public string Summary => $"run {RunId} {Window}: {Items} items, " +
        string.Join(", ", Reconciliation.Buckets.All.Where(b => Count(b) > 0).Select(b => $"{b} {Count(b)}")) +
        (LedgerDifferences.Count > 0 ? $", ledger differs in {string.Join(" ", LedgerDifferences.Select(d => d.CurrencyCode))}" : "") +
        $"; hash {ResultHash[..12]}";
}

/// <summary>
/// The run's result hash: SHA-256 over every item in merge order (key, kind, bucket, PSP line, amounts, currency; not
/// the reason's wording, nor anything of the run) and the ledger differences. Re-running a window that did not change
/// gives the same hash.
/// </summary>
public sealed class ResultHash : IDisposable
{
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public void Add(LineVerdict v) => Append(string.Join('\t', v.Key, LineKinds.Wire(v.Kind), v.Bucket, v.PspLineId ?? "-",
        Text(v.PspAmountMinor), Text(v.PayrailAmountMinor), v.CurrencyCode ?? "-") + "\n");

    public void Add(LedgerDifference d) => Append(string.Join('\t', "ledger", d.CurrencyCode, Text(d.PspFeeMinor), Text(d.LedgerFeeMinor),
        Text(d.PspNetMinor), Text(d.LedgerNetMinor)) + "\n");

    public string Finish() => Convert.ToHexStringLower(_sha.GetHashAndReset());

    private void Append(string text) => _sha.AppendData(Encoding.UTF8.GetBytes(text));

    private static string Text(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "-";

    public void Dispose() => _sha.Dispose();
}

/// <summary>
/// Per settlement currency, the PSP's fee and net totals of the charges Payrail settled, beside the ledger's fee and
/// PSP → cash transfers of the same payments (a handful of currencies: bounded).
/// </summary>
public sealed class LedgerTally
{
    private readonly SortedDictionary<string, long[]> _totals = new(StringComparer.Ordinal);

    public void Add(PspLine fee, PayrailLine settled)
    {
        if (!_totals.TryGetValue(fee.CurrencyCode, out var t)) _totals[fee.CurrencyCode] = t = new long[4];
        checked
        {
            t[0] += fee.AmountMinor;
            t[1] += settled.LedgerFeeMinor ?? 0;
            t[2] += fee.NetMinor;
            t[3] += settled.LedgerNetMinor ?? 0;
        }
    }

    public IReadOnlyList<LedgerDifference> Differences() =>
        [.. _totals.Where(t => t.Value[0] != t.Value[1] || t.Value[2] != t.Value[3])
            .Select(t => new LedgerDifference(t.Key, t.Value[0], t.Value[1], t.Value[2], t.Value[3]))];
}

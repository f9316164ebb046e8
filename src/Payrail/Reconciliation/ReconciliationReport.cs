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
/// gives the same hash. Each item's line is encoded straight into one reused buffer that is hashed when full (a string
/// per item and its bytes were two allocations per item): the bytes hashed are the same, so is the hash.
/// </summary>
public sealed class ResultHash : IDisposable
{
    private const int BufferBytes = 64 * 1024;

    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _buffer = new byte[BufferBytes];
    private int _used;

    public void Add(LineVerdict v)
    {
        Text(v.Key);
        Tab();
        Text(LineKinds.Wire(v.Kind));
        Tab();
        Text(v.Bucket);
        Tab();
        Text(v.PspLineId ?? "-");
        Tab();
        Number(v.PspAmountMinor);
        Tab();
        Number(v.PayrailAmountMinor);
        Tab();
        Text(v.CurrencyCode ?? "-");
        Byte((byte)'\n');
    }

    public void Add(LedgerDifference d)
    {
        Text("ledger");
        Tab();
        Text(d.CurrencyCode);
        Tab();
        Number(d.PspFeeMinor);
        Tab();
        Number(d.LedgerFeeMinor);
        Tab();
        Number(d.PspNetMinor);
        Tab();
        Number(d.LedgerNetMinor);
        Byte((byte)'\n');
    }

    public string Finish()
    {
        Drain();
        return Convert.ToHexStringLower(_sha.GetHashAndReset());
    }

    private void Tab() => Byte((byte)'\t');

    private void Byte(byte b)
    {
        if (_used == BufferBytes) Drain();
        _buffer[_used++] = b;
    }

    private void Text(string text)
    {
        var most = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (most > BufferBytes - _used) Drain();
        if (most > BufferBytes)
        {
            _sha.AppendData(Encoding.UTF8.GetBytes(text));
            return;
        }
        _used += Encoding.UTF8.GetBytes(text, _buffer.AsSpan(_used));
    }

    /// <summary>A number in invariant digits, "-" for none.</summary>
    private void Number(long? value)
    {
        if (value is not { } number)
        {
            Byte((byte)'-');
            return;
        }
        if (BufferBytes - _used < 20) Drain();
        number.TryFormat(_buffer.AsSpan(_used), out var written, default, CultureInfo.InvariantCulture);
        _used += written;
    }

    private void Drain()
    {
        _sha.AppendData(_buffer, 0, _used);
        _used = 0;
    }

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

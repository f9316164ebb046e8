using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Payrail.Reconciliation;

/// <summary>
/// A run's CSV and JSON report under <see cref="ReconciliationOptions.ReportsDirectory"/>, written as items are decided
/// (constant memory) into temporary files that are renamed once the run completed; a failed run leaves none. The CSV holds
/// every item (the line-by-line record); the JSON holds the breaks and the run's summary, what a tool acts on. A JSON of
/// every item repeated the CSV in twice its bytes: 641 MB for a million PSP lines, written at about 1 CPU s (perf on
/// `bench reconcile`), read by nothing; every item is in the CSV and in reconciliation_items.
/// </summary>
public sealed class ReportFiles : IAsyncDisposable
{
    private readonly string _csvPath;
    private readonly string _jsonPath;
    private readonly StreamWriter _csv;
    private readonly FileStream _jsonStream;
    private readonly Utf8JsonWriter _json;
    private bool _finished;

    private ReportFiles(string directory, string name)
    {
        _csvPath = Path.Combine(directory, name + ".csv");
        _jsonPath = Path.Combine(directory, name + ".json");
        _csv = new StreamWriter(_csvPath + ".tmp", append: false, new UTF8Encoding(false), bufferSize: 64 * 1024);
        _csv.WriteLine("match_key,kind,bucket,reason,psp_line,payment_id,refund_id,currency,psp_amount_minor,payrail_amount_minor");
        _jsonStream = new FileStream(_jsonPath + ".tmp", FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024);
        _json = new Utf8JsonWriter(_jsonStream, new JsonWriterOptions { Indented = false });
        _json.WriteStartObject();
        _json.WriteStartArray("break_items");
    }

    /// <summary>Old reports one run deletes at most (it writes two): the folder stays bounded, and one prune stays short.</summary>
    public const int MaxPrunedPerRun = 100;

    /// <summary>
    /// Deletes reports, and the temporary files of a run that was killed, last written before <paramref name="beforeUtc"/>:
    /// at most <see cref="MaxPrunedPerRun"/>. A running run's temporary files are being written, so they are never that old.
    /// </summary>
    public static int Prune(string directory, DateTime beforeUtc)
    {
        if (!Directory.Exists(directory)) return 0;
        var deleted = 0;
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles("reconciliation-*"))
        {
            if (file.Extension is not (".csv" or ".json" or ".tmp") || file.LastWriteTimeUtc >= beforeUtc) continue;
            file.Delete();
            if (++deleted == MaxPrunedPerRun) break;
        }
        return deleted;
    }

    public static ReportFiles Open(string directory, string psp, ReconciliationWindow window, long runId)
    {
        Directory.CreateDirectory(directory);
        var name = string.Create(CultureInfo.InvariantCulture,
            $"reconciliation-{psp}-{window.From:yyyyMMdd'T'HHmmss'Z'}-{window.To:yyyyMMdd'T'HHmmss'Z'}-run{runId}");
        return new ReportFiles(directory, name);
    }

    /// <summary>One item in the CSV, and in the JSON if a break. Synchronous, on the archive's own task: both files are buffered.</summary>
    public void Write(LineVerdict v)
    {
        WriteCsv(v.Key);
        _csv.Write(',');
        _csv.Write(LineKinds.Wire(v.Kind));
        _csv.Write(',');
        _csv.Write(v.Bucket);
        _csv.Write(',');
        WriteCsv(v.Reason);
        _csv.Write(',');
        WriteCsv(v.PspLineId);
        _csv.Write(',');
        WriteCsv(v.PaymentId);
        _csv.Write(',');
        WriteCsv(v.RefundId);
        _csv.Write(',');
        _csv.Write(v.CurrencyCode);
        _csv.Write(',');
        WriteCsv(v.PspAmountMinor);
        _csv.Write(',');
        WriteCsv(v.PayrailAmountMinor);
        _csv.WriteLine();
        if (!Buckets.IsBreak(v.Bucket)) return;
        _json.WriteStartObject();
        _json.WriteString(MatchKey, v.Key);
        _json.WriteString(Kind, LineKinds.Wire(v.Kind));
        _json.WriteString(Bucket, v.Bucket);
        _json.WriteString(Reason, v.Reason);
        _json.WriteString(PspLine, v.PspLineId);
        WriteGuid(PaymentId, v.PaymentId);
        WriteGuid(RefundId, v.RefundId);
        _json.WriteString(Currency, v.CurrencyCode);
        WriteNumber(PspAmountMinor, v.PspAmountMinor);
        WriteNumber(PayrailAmountMinor, v.PayrailAmountMinor);
        _json.WriteEndObject();
        if (_json.BytesPending > 32 * 1024) _json.Flush();
    }

    private static readonly JsonEncodedText MatchKey = JsonEncodedText.Encode("match_key");
    private static readonly JsonEncodedText Kind = JsonEncodedText.Encode("kind");
    private static readonly JsonEncodedText Bucket = JsonEncodedText.Encode("bucket");
    private static readonly JsonEncodedText Reason = JsonEncodedText.Encode("reason");
    private static readonly JsonEncodedText PspLine = JsonEncodedText.Encode("psp_line");
    private static readonly JsonEncodedText PaymentId = JsonEncodedText.Encode("payment_id");
    private static readonly JsonEncodedText RefundId = JsonEncodedText.Encode("refund_id");
    private static readonly JsonEncodedText Currency = JsonEncodedText.Encode("currency");
    private static readonly JsonEncodedText PspAmountMinor = JsonEncodedText.Encode("psp_amount_minor");
    private static readonly JsonEncodedText PayrailAmountMinor = JsonEncodedText.Encode("payrail_amount_minor");

    /// <summary>A field as is, or quoted (quotes doubled) when it holds a comma, a quote or a line break; nothing for null.</summary>
    private void WriteCsv(string? value)
    {
        if (value is null) return;
        if (value.AsSpan().IndexOfAny(",\"\n\r") < 0)
        {
            _csv.Write(value);
            return;
        }
        _csv.Write('"');
        _csv.Write(value.Replace("\"", "\"\""));
        _csv.Write('"');
    }

    private void WriteCsv(Guid? value)
    {
        if (value is not { } guid) return;
        Span<char> text = stackalloc char[36];
        guid.TryFormat(text, out var written);
        _csv.Write(text[..written]);
    }

    private void WriteCsv(long? value)
    {
        if (value is not { } number) return;
        Span<char> text = stackalloc char[20];
        number.TryFormat(text, out var written, default, CultureInfo.InvariantCulture);
        _csv.Write(text[..written]);
    }

    private void WriteGuid(JsonEncodedText name, Guid? value)
    {
        if (value is { } guid) _json.WriteString(name, guid);
        else _json.WriteNull(name);
    }

    /// <summary>Closes both files with the run's summary and gives them their final names.</summary>
    public async Task<(string Csv, string Json)> FinishAsync(ReconciliationReport report)
    {
        _json.WriteEndArray();
        _json.WriteNumber("run_id", report.RunId);
        _json.WriteString("psp", report.Psp);
        _json.WriteString("window_from", report.Window.From.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        _json.WriteString("window_to", report.Window.To.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        _json.WriteString("trigger", report.Trigger);
        _json.WriteBoolean("dry_run", report.DryRun);
        _json.WriteNumber("psp_lines", report.PspLines);
        _json.WriteNumber("skipped_lines", report.SkippedLines);
        _json.WriteNumber("item_count", report.Items);
        _json.WriteStartObject("buckets");
        foreach (var bucket in Buckets.All) _json.WriteNumber(bucket, report.Count(bucket));
        _json.WriteEndObject();
        _json.WriteStartArray("ledger_differences");
        foreach (var d in report.LedgerDifferences)
        {
            _json.WriteStartObject();
            _json.WriteString("currency", d.CurrencyCode);
            _json.WriteNumber("psp_fee_minor", d.PspFeeMinor);
            _json.WriteNumber("ledger_fee_minor", d.LedgerFeeMinor);
            _json.WriteNumber("psp_net_minor", d.PspNetMinor);
            _json.WriteNumber("ledger_net_minor", d.LedgerNetMinor);
            _json.WriteEndObject();
        }
        _json.WriteEndArray();
        _json.WriteNumber("breaks", report.Breaks);
        _json.WriteString("result_hash", report.ResultHash);
        _json.WriteEndObject();
        await _json.FlushAsync();
        await _json.DisposeAsync();
        await _jsonStream.DisposeAsync();
        await _csv.DisposeAsync();
        File.Move(_csvPath + ".tmp", _csvPath, overwrite: true);
        File.Move(_jsonPath + ".tmp", _jsonPath, overwrite: true);
        _finished = true;
        return (_csvPath, _jsonPath);
    }

    private void WriteNumber(JsonEncodedText name, long? value)
    {
        if (value is { } v) _json.WriteNumber(name, v);
        else _json.WriteNull(name);
    }

    public async ValueTask DisposeAsync()
    {
        if (_finished) return;
        await _json.DisposeAsync();
        await _jsonStream.DisposeAsync();
        await _csv.DisposeAsync();
        File.Delete(_csvPath + ".tmp");
        File.Delete(_jsonPath + ".tmp");
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Payrail.Reconciliation;

/// <summary>
/// A run's CSV and JSON report under <see cref="ReconciliationOptions.ReportsDirectory"/>, written as items are decided
/// (constant memory) into temporary files that are renamed once the run completed; a failed run leaves none.
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
        _csv = new StreamWriter(_csvPath + ".tmp", append: false, new UTF8Encoding(false));
        _csv.WriteLine("match_key,kind,bucket,reason,psp_line,payment_id,refund_id,currency,psp_amount_minor,payrail_amount_minor");
        _jsonStream = new FileStream(_jsonPath + ".tmp", FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024);
        _json = new Utf8JsonWriter(_jsonStream, new JsonWriterOptions { Indented = false });
        _json.WriteStartObject();
        _json.WriteStartArray("items");
    }

    public static ReportFiles Open(string directory, string psp, ReconciliationWindow window, long runId)
    {
        Directory.CreateDirectory(directory);
        var name = string.Create(CultureInfo.InvariantCulture,
            $"reconciliation-{psp}-{window.From:yyyyMMdd'T'HHmmss'Z'}-{window.To:yyyyMMdd'T'HHmmss'Z'}-run{runId}");
        return new ReportFiles(directory, name);
    }

    public async Task WriteAsync(LineVerdict v)
    {
        await _csv.WriteLineAsync(string.Join(',', Csv(v.Key), LineKinds.Wire(v.Kind), v.Bucket, Csv(v.Reason), Csv(v.PspLineId),
            v.PaymentId?.ToString() ?? "", v.RefundId?.ToString() ?? "", v.CurrencyCode ?? "", Number(v.PspAmountMinor), Number(v.PayrailAmountMinor)));
        _json.WriteStartObject();
        _json.WriteString("match_key", v.Key);
        _json.WriteString("kind", LineKinds.Wire(v.Kind));
        _json.WriteString("bucket", v.Bucket);
        _json.WriteString("reason", v.Reason);
        _json.WriteString("psp_line", v.PspLineId);
        _json.WriteString("payment_id", v.PaymentId?.ToString());
        _json.WriteString("refund_id", v.RefundId?.ToString());
        _json.WriteString("currency", v.CurrencyCode);
        WriteNumber("psp_amount_minor", v.PspAmountMinor);
        WriteNumber("payrail_amount_minor", v.PayrailAmountMinor);
        _json.WriteEndObject();
        if (_json.BytesPending > 32 * 1024) await _json.FlushAsync();
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

    private void WriteNumber(string name, long? value)
    {
        if (value is { } v) _json.WriteNumber(name, v);
        else _json.WriteNull(name);
    }

    private static string Number(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "";

    private static string Csv(string? value) =>
        value is null ? "" : value.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;

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

using System.Security.Cryptography;
using System.Text;
using Payrail.Reconciliation;
using Xunit;

namespace Payrail.Tests.Reconciliation;

/// <summary>
/// The report files' and the result hash's exact bytes (what a re-run is compared with), whatever way they are written:
/// quoting, nulls, non-ASCII keys, negative amounts.
/// </summary>
public sealed class ReportBytesTests
{
    private static readonly DateTimeOffset Day = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);

    private static readonly LineVerdict Plain = new("ch_1|charge", LineKind.Charge, Buckets.Matched, "captured for the same amount",
        "txn_1", Guid.Parse("0b6f7c1e-2d3a-4b5c-8d9e-0f1a2b3c4d5e"), null, "EUR", 1_999, 1_999);

    private static readonly LineVerdict Awkward = new("ré_\"x\",y|refund", LineKind.Refund, Buckets.AmountMismatch, "said \"no\",\nthen yes",
        null, null, Guid.Parse("1c7f8d2f-3e4b-5c6d-9e0f-1a2b3c4d5e6f"), null, -250, null);

    [Fact]
    public void The_result_hash_is_sha256_over_one_tab_separated_line_per_item_with_dashes_for_what_is_missing()
    {
        using var hash = new ResultHash();
        hash.Add(Plain);
        hash.Add(Awkward);
        hash.Add(new LedgerDifference("EUR", 10, 11, -5, 0));
        var text = "ch_1|charge\tcharge\tmatched\ttxn_1\t1999\t1999\tEUR\n"
                   + "ré_\"x\",y|refund\trefund\tamount_mismatch\t-\t-250\t-\t-\n"
                   + "ledger\tEUR\t10\t11\t-5\t0\n";
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text))), hash.Finish());
    }

    [Fact]
    public async Task The_csv_report_quotes_only_fields_with_a_comma_quote_or_line_break_and_leaves_missing_values_empty()
    {
        var directory = Path.Combine(Path.GetTempPath(), "payrail-report-bytes-" + Guid.NewGuid().ToString("N"));
        try
        {
            string csvPath;
            await using (var files = ReportFiles.Open(directory, "stripe", new ReconciliationWindow(Day, Day.AddDays(1)), 7))
            {
                files.Write(Plain);
                files.Write(Awkward);
                using var hash = new ResultHash();
                var report = new ReconciliationReport(7, "stripe", new ReconciliationWindow(Day, Day.AddDays(1)), "manual", false, Day,
                    TimeSpan.FromSeconds(1), 2, 0, 2, new Dictionary<string, long>(), [], 0, hash.Finish(), null, null);
                (csvPath, _) = await files.FinishAsync(report);
            }
            var expected = "match_key,kind,bucket,reason,psp_line,payment_id,refund_id,currency,psp_amount_minor,payrail_amount_minor" + Environment.NewLine
                           + "ch_1|charge,charge,matched,captured for the same amount,txn_1,0b6f7c1e-2d3a-4b5c-8d9e-0f1a2b3c4d5e,,EUR,1999,1999"
                           + Environment.NewLine
                           + "\"ré_\"\"x\"\",y|refund\",refund,amount_mismatch,\"said \"\"no\"\",\nthen yes\",,,1c7f8d2f-3e4b-5c6d-9e0f-1a2b3c4d5e6f,,-250,"
                           + Environment.NewLine;
            var bytes = await File.ReadAllBytesAsync(csvPath);
            Assert.Equal(Encoding.UTF8.GetBytes(expected), bytes);
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task The_json_report_holds_the_breaks_then_the_runs_summary_with_nulls_for_what_is_missing()
    {
        var directory = Path.Combine(Path.GetTempPath(), "payrail-report-bytes-" + Guid.NewGuid().ToString("N"));
        try
        {
            string jsonPath;
            await using (var files = ReportFiles.Open(directory, "stripe", new ReconciliationWindow(Day, Day.AddDays(1)), 7))
            {
                files.Write(Plain);
                files.Write(Awkward);
                var report = new ReconciliationReport(7, "stripe", new ReconciliationWindow(Day, Day.AddDays(1)), "manual", false, Day,
                    TimeSpan.FromSeconds(1), 2, 0, 2, new Dictionary<string, long> { [Buckets.Matched] = 1, [Buckets.AmountMismatch] = 1 },
                    [new LedgerDifference("EUR", 10, 11, -5, 0)], 0, new string('a', 64), null, null);
                (_, jsonPath) = await files.FinishAsync(report);
            }
            var expected = "{\"break_items\":["
                           + "{\"match_key\":\"r\\u00E9_\\u0022x\\u0022,y|refund\",\"kind\":\"refund\",\"bucket\":\"amount_mismatch\","
                           + "\"reason\":\"said \\u0022no\\u0022,\\nthen yes\",\"psp_line\":null,\"payment_id\":null,"
                           + "\"refund_id\":\"1c7f8d2f-3e4b-5c6d-9e0f-1a2b3c4d5e6f\",\"currency\":null,\"psp_amount_minor\":-250,\"payrail_amount_minor\":null}],"
                           + "\"run_id\":7,\"psp\":\"stripe\",\"window_from\":\"2026-11-30T00:00:00Z\",\"window_to\":\"2026-12-01T00:00:00Z\","
                           + "\"trigger\":\"manual\",\"dry_run\":false,\"psp_lines\":2,\"skipped_lines\":0,\"item_count\":2,"
                           + "\"buckets\":{\"matched\":1,\"repaired\":0,\"missing_in_payrail\":0,\"missing_at_psp\":0,\"amount_mismatch\":1,"
                           + "\"fee_mismatch\":0,\"status_mismatch\":0,\"duplicate\":0,\"expected\":0},"
                           + "\"ledger_differences\":[{\"currency\":\"EUR\",\"psp_fee_minor\":10,\"ledger_fee_minor\":11,\"psp_net_minor\":-5,"
                           + "\"ledger_net_minor\":0}],\"breaks\":2,\"result_hash\":\"" + new string('a', 64) + "\"}";
            Assert.Equal(expected, Encoding.UTF8.GetString(await File.ReadAllBytesAsync(jsonPath)));
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }
}

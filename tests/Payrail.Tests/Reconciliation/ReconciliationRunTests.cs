using Payrail.Reconciliation;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Reconciliation;

/// <summary>The fixture of the run tests: its own database and pspsim (faults and latency are set and reset here).</summary>
public sealed class ReconciliationRunFixture : ReconciliationFixture;

/// <summary>
/// Bad input and the run's own rules: a window in the future or too long is refused (exit 1); a truncated PSP page fails
/// the whole run (nothing archived, nothing replayed) and the next run starts over; two runs of one window never
/// interleave; a dry run replays and alerts nothing.
/// </summary>
public sealed class ReconciliationRunTests(ReconciliationRunFixture api) : IClassFixture<ReconciliationRunFixture>
{
    [Fact]
    public async Task A_window_in_the_future_longer_than_the_maximum_or_half_given_is_refused_with_exit_1_and_no_run()
    {
        var now = DateTimeOffset.UtcNow;
        var runs = await api.ScalarAsync("SELECT count(*) FROM reconciliation_runs");

        var future = await api.CommandAsync(new ReconcileCommand.Arguments(null, Iso(now.AddHours(-1)), Iso(now.AddHours(1)), false, "table"));
        var tooLong = await api.CommandAsync(new ReconcileCommand.Arguments(null, Iso(now.AddDays(-3)), Iso(now.AddHours(-1)), false, "table"));
        var both = await api.CommandAsync(new ReconcileCommand.Arguments("2026-01-01", Iso(now.AddDays(-3)), null, false, "table"));
        var badDate = await api.CommandAsync(new ReconcileCommand.Arguments("2026-13-01", null, null, false, "table"));
        var badFormat = await api.CommandAsync(new ReconcileCommand.Arguments(null, null, null, false, "xml"));

        Assert.Equal((1, true), (future.ExitCode, future.Error.Contains("future", StringComparison.Ordinal)));
        Assert.Equal((1, true), (tooLong.ExitCode, tooLong.Error.Contains("MaxWindow", StringComparison.Ordinal)));
        Assert.Equal((1, true), (both.ExitCode, both.Error.Contains("not both", StringComparison.Ordinal)));
        Assert.Equal((1, true), (badDate.ExitCode, badDate.Error.Contains("YYYY-MM-DD", StringComparison.Ordinal)));
        Assert.Equal(1, badFormat.ExitCode);
        Assert.Equal(runs, await api.ScalarAsync("SELECT count(*) FROM reconciliation_runs"));
    }

    [Theory]
    [InlineData("/v1/balance_transactions")] // a listing's page (refunds, and what the report does not cover yet)
    [InlineData("/v1/files/")]               // the report's file
    public async Task A_truncated_PSP_page_fails_the_whole_run_with_nothing_archived_or_replayed_and_the_next_run_starts_over(string path)
    {
        var from = ReconciliationFixture.WindowStart();
        var lost = await api.PaymentAsync(amount: 1_234, paymentMethod: "pm_card_sim_processing");
        await api.PspSim.SettleAsync(lost.PspReference);
        var window = ReconciliationFixture.UntilNow(from);
        var files = Files();
        await api.PspSim.AddFaultAsync("truncated_body", count: 1, pathPrefix: path, method: "GET");

        await Assert.ThrowsAnyAsync<Exception>(() => api.ReconcileAsync(window));

        Assert.Equal("failed", await api.TextAsync("SELECT status FROM reconciliation_runs ORDER BY id DESC LIMIT 1"));
        Assert.Equal(0, await api.ScalarAsync(
            "SELECT count(*) FROM reconciliation_items WHERE run_id = (SELECT max(id) FROM reconciliation_runs)"));
        Assert.Equal(files, Files());
        Assert.Equal("processing", await api.TextAsync("SELECT status FROM payments WHERE id = @id", lost.PaymentId));
        Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM reconciliation_replays WHERE payment_id = @id", ("id", lost.PaymentId)));

        var next = await api.ReconcileAsync(window);

        // This payment's charge, not a count of the run: a window may start in the second an earlier test's lost payment
        // (the dry run's, still behind) was made in.
        Assert.Equal(Buckets.Repaired, await api.TextAsync("SELECT bucket FROM reconciliation_items WHERE run_id = @run AND match_key = @key",
            ("run", next.RunId), ("key", lost.PspReference + "|charge")));
        Assert.Equal("captured", await api.TextAsync("SELECT status FROM payments WHERE id = @id", lost.PaymentId));
        Assert.True(File.Exists(next.CsvPath) && File.Exists(next.JsonPath));
    }

    [Fact]
    public async Task Two_runs_of_one_window_at_once_never_interleave_the_second_refuses()
    {
        var from = ReconciliationFixture.WindowStart();
        await api.PaymentAsync(amount: 2_222);
        var window = ReconciliationFixture.UntilNow(from);
        await api.PspSim.SetLatencyAsync(3_000);
        try
        {
            var first = api.ReconcileAsync(window);
            await Eventually.TrueAsync(async () => await api.ScalarAsync(
                "SELECT count(*) FROM reconciliation_runs WHERE window_from = @from AND window_to = @to AND status = 'running'",
                ("from", window.From), ("to", window.To)) == 1,
                TimeSpan.FromSeconds(20), "the first run records itself before it reads the PSP");

            await Assert.ThrowsAsync<ReconciliationRunInProgressException>(() => api.ReconcileAsync(window));

            var report = await first;
            Assert.Equal(0, report.Breaks);
        }
        finally
        {
            await api.PspSim.ResetAsync();
        }
        Assert.Equal(1, await api.ScalarAsync(
            "SELECT count(*) FROM reconciliation_runs WHERE window_from = @from AND window_to = @to AND status = 'completed'",
            ("from", window.From), ("to", window.To)));
    }

    [Fact]
    public async Task A_dry_run_reports_a_lost_webhook_without_replaying_it_or_raising_an_alert_and_old_reports_are_deleted()
    {
        var from = ReconciliationFixture.WindowStart();
        var lost = await api.PaymentAsync(amount: 3_333, paymentMethod: "pm_card_sim_processing");
        await api.PspSim.SettleAsync(lost.PspReference);
        var window = ReconciliationFixture.UntilNow(from);
        var events = await api.ScalarAsync("SELECT count(*) FROM outbox");
        Directory.CreateDirectory(api.ReportsDirectory);
        var expired = Path.Combine(api.ReportsDirectory, "reconciliation-stripe-20250101T000000Z-20250102T000000Z-run0.csv");
        await File.WriteAllTextAsync(expired, "match_key\n");
        File.SetLastWriteTimeUtc(expired, DateTime.UtcNow.AddYears(-1));

        var report = await api.ReconcileAsync(window, dryRun: true);

        Assert.Equal(1, report.Count(Buckets.MissingInPayrail));
        Assert.Equal("processing", await api.TextAsync("SELECT status FROM payments WHERE id = @id", lost.PaymentId));
        Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM reconciliation_replays WHERE payment_id = @id", ("id", lost.PaymentId)));
        Assert.Equal(events, await api.ScalarAsync("SELECT count(*) FROM outbox"));
        Assert.False(File.Exists(expired)); // older than Reconciliation:ReportRetention: deleted by the run
        Assert.True(File.Exists(report.CsvPath));
    }

    private string[] Files() => Directory.Exists(api.ReportsDirectory) ? [.. Directory.GetFiles(api.ReportsDirectory).Order()] : [];

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}

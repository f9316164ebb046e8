using System.Text.Json;
using Payrail.Reconciliation;
using Xunit;

namespace Payrail.Tests.Reconciliation;

/// <summary>The fixture of the day's test: its own database and pspsim (the test moves pspsim's clock past the payout delay).</summary>
public sealed class ReconciliationDayFixture : ReconciliationFixture;

/// <summary>
/// Issue 13's day: mixed payments, a capture in another currency, a refund, settlement with fees, and four injected faults
/// (a lost webhook with no sweeper, a row forced to CAPTURED without a PSP charge, an amount changed in the database, a fee
/// changed at the PSP). Every bucket's count is asserted exactly; a re-run gives the same hash, no replay, no event.
/// </summary>
public sealed class ReconciliationDayTests(ReconciliationDayFixture api, Xunit.Abstractions.ITestOutputHelper log) : IClassFixture<ReconciliationDayFixture>
{
    [Fact]
    public async Task A_day_with_a_lost_webhook_a_phantom_capture_a_changed_amount_and_a_changed_fee_lands_every_line_in_its_bucket()
    {
        var from = ReconciliationFixture.WindowStart();
        var plain = await api.PaymentAsync(amount: 1_999);
        var second = await api.PaymentAsync(amount: 2_500);
        var euro = await api.PaymentAsync(amount: 10_000, currency: "EUR");
        var refunded = await api.PaymentAsync(amount: 3_000);
        await api.RefundAsync(refunded.PaymentId, 1_000);
        var amountChanged = await api.PaymentAsync(amount: 4_000);
        var feeChanged = await api.PaymentAsync(amount: 5_000);
        // Lost webhook: the PSP decides after the API answered 202, no webhook arrives, no sweeper runs.
        var lost = await api.PaymentAsync(amount: 6_000, paymentMethod: "pm_card_sim_processing");
        Assert.Equal("processing", lost.Status);
        await api.PspSim.SettleAsync(lost.PspReference);
        // A bug writes CAPTURED for an authorization the PSP never captured.
        var phantom = await api.PaymentAsync(amount: 7_000, capture: "manual");
        Assert.Equal("authorized", phantom.Status);
        await api.ScalarAsync("""
            WITH changed AS (UPDATE payments SET status = 'captured', amount_captured_minor = amount_minor, version = version + 1
                             WHERE id = @id RETURNING id)
            INSERT INTO payment_transitions (payment_id, from_status, to_status, cause) SELECT id, 'authorized', 'captured', 'bug' FROM changed
            RETURNING 1
            """, ("id", phantom.PaymentId));
        // Settlement books the fees once pspsim released the funds; then the database and the PSP are tampered with.
        await api.PspSim.AdvanceClockAsync(TimeSpan.FromDays(2) + TimeSpan.FromMinutes(1));
        await api.SettleAsync();
        Assert.Equal("settled", await api.TextAsync("SELECT status FROM payments WHERE id = @id", feeChanged.PaymentId));
        await api.ScalarAsync("UPDATE payments SET amount_captured_minor = amount_captured_minor - 100, version = version + 1 WHERE id = @id RETURNING 1",
            ("id", amountChanged.PaymentId));
        var feeLine = await api.ChargeLineAsync(feeChanged.PspReference);
        await api.SetFeeAsync(feeLine.Id, feeLine.Fee + 7);
        var window = ReconciliationFixture.UntilNow(from);

        var (exit, output, error) = await api.CommandAsync(new ReconcileCommand.Arguments(null, Iso(window.From), Iso(window.To), false, "json"));

        Assert.True(exit == ReconcileCommand.BreaksExitCode, $"exit {exit}: {error}");
        var run = JsonDocument.Parse(output).RootElement;
        var buckets = run.GetProperty("buckets");
        Assert.Equal(
            // Charge and fee of plain, second and euro; charge, fee and refund of refunded; feeChanged's charge, amountChanged's fee.
            new Dictionary<string, long>
            {
                [Buckets.Matched] = 11, [Buckets.Repaired] = 1, [Buckets.MissingInPayrail] = 0, [Buckets.MissingAtPsp] = 1,
                [Buckets.AmountMismatch] = 1, [Buckets.FeeMismatch] = 1, [Buckets.StatusMismatch] = 0, [Buckets.Duplicate] = 0,
                // The repaired payment's fee: booked at its settlement, which the PSP's release has not yet made due.
                [Buckets.Expected] = 1,
            },
            Buckets.All.ToDictionary(b => b, b => buckets.GetProperty(b).GetInt64()));
        Assert.Equal("captured", await api.TextAsync("SELECT status FROM payments WHERE id = @id", lost.PaymentId));
        var ledger = Assert.Single(run.GetProperty("ledger_differences").EnumerateArray());
        Assert.Equal(("USD", 7L), (ledger.GetProperty("currency").GetString(), ledger.GetProperty("psp_fee_minor").GetInt64() - ledger.GetProperty("ledger_fee_minor").GetInt64()));
        Assert.Equal(3, await AlertsAsync());
        Assert.Equal(1, await api.ScalarAsync(
            "SELECT count(*) FROM outbox WHERE event_type = 'reconciliation.alert' AND aggregate_id = @id AND payload->'reconciliation'->>'bucket' = 'missing_at_psp'",
            ("id", phantom.PaymentId)));
        var runId = run.GetProperty("run_id").GetInt64();
        Assert.Equal(run.GetProperty("items").GetInt64(), await api.ScalarAsync("SELECT count(*) FROM reconciliation_items WHERE run_id = @id", ("id", runId)));
        Assert.Equal(run.GetProperty("items").GetInt64() + 1, File.ReadAllLines(run.GetProperty("csv").GetString()!).Length);
        var report = JsonDocument.Parse(File.ReadAllText(run.GetProperty("json").GetString()!)).RootElement;
        Assert.Equal(run.GetProperty("result_hash").GetString(), report.GetProperty("result_hash").GetString());

        // The same window again: the same buckets and hash, no second replay, no new event.
        var events = await api.ScalarAsync("SELECT count(*) FROM outbox");
        var transitions = await api.ScalarAsync("SELECT count(*) FROM payment_transitions WHERE cause = 'reconciliation'");
        var again = await api.CommandAsync(new ReconcileCommand.Arguments(null, Iso(window.From), Iso(window.To), false, "json"));

        Assert.Equal(ReconcileCommand.BreaksExitCode, again.ExitCode);
        var rerun = JsonDocument.Parse(again.Output).RootElement;
        Assert.Equal(run.GetProperty("result_hash").GetString(), rerun.GetProperty("result_hash").GetString());
        Assert.Equal(0, rerun.GetProperty("replayed").GetInt64());
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM reconciliation_replays"));
        Assert.Equal(events, await api.ScalarAsync("SELECT count(*) FROM outbox"));
        Assert.Equal(transitions, await api.ScalarAsync("SELECT count(*) FROM payment_transitions WHERE cause = 'reconciliation'"));
        await api.AssertBooksBalanceAsync();
        // The table an operator reads (the README shows this run's).
        var table = await api.CommandAsync(new ReconcileCommand.Arguments(null, Iso(window.From), Iso(window.To), false, "table"));
        Assert.Equal(ReconcileCommand.BreaksExitCode, table.ExitCode);
        Assert.Contains("missing_at_psp", table.Output, StringComparison.Ordinal);
        log.WriteLine(table.Output);
    }

    private Task<long> AlertsAsync() => api.ScalarAsync("SELECT count(*) FROM outbox WHERE event_type = 'reconciliation.alert'");

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}

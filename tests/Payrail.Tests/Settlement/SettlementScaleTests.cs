using System.Diagnostics;
using Payrail.Reconciliation;
using Payrail.Settlement;
using Xunit;
using Xunit.Abstractions;

namespace Payrail.Tests.Settlement;

/// <summary>
/// A generated day (pspsim's bulk charges, matching CAPTURED payments written set-based): every payment settles once, in
/// write batches, with its fee and cash; a re-run posts nothing. Prints payments per second and this process's CPU time
/// (PAYRAIL_SETTLE_SCALE_LINES and PAYRAIL_SETTLE_WRITE_BATCH set the size and the batch for a measurement; the suite
/// keeps it small). Two runs racing over a day settle each payment once.
/// </summary>
public sealed class SettlementScaleTests(SettlementFixture api, ITestOutputHelper output) : IClassFixture<SettlementFixture>
{
    [Fact]
    public async Task A_generated_day_of_charges_settles_every_payment_once_in_batches_and_a_rerun_posts_nothing()
    {
        var lines = int.TryParse(Environment.GetEnvironmentVariable("PAYRAIL_SETTLE_SCALE_LINES"), out var n) ? n : 1_500;
        var merchant = await api.CreateMerchantAsync(payableMayGoNegative: false);
        var tag = "g" + Guid.NewGuid().ToString("N")[..10];
        var at = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        await api.BulkChargesAsync(tag, lines, at, 1_000);
        await using (var connection = await api.Postgres.OpenAsync())
            await ReconciliationSeed.CapturedPaymentsAsync(connection, "stripe", merchant, tag, lines, at, 1_000, CancellationToken.None);
        await api.PassPayoutDelayAsync();
        var settlement = api.NewSettlement(("Stripe:MaxSettlementLines", "1000000"), ("Settlement:WriteBatchSize", Environment.GetEnvironmentVariable("PAYRAIL_SETTLE_WRITE_BATCH") ?? "100"));

        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var report = await settlement.RunOnceAsync(SettlementFixture.RunDate, SettlementReport.OnceTrigger, CancellationToken.None);
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        output.WriteLine($"{report.Settled} settled in {report.Duration.TotalSeconds:N2} s: {report.Settled / report.Duration.TotalSeconds:N0} payments/s, "
            + $"{cpu.TotalSeconds:N2} s CPU in the test process ({report.Summary})");

        Assert.Equal((lines, 0), (report.Settled, report.Refused));
        Assert.Equal(lines, await api.ScalarAsync("SELECT count(*) FROM payments WHERE merchant_id = @m AND status = 'settled'", ("m", merchant)));
        Assert.Equal(lines, await api.ScalarAsync(
            "SELECT count(*) FROM payment_settlements s JOIN payments p ON p.id = s.payment_id WHERE p.merchant_id = @m", ("m", merchant)));
        var transfers = await api.ScalarAsync("SELECT count(*) FROM ledger_transfers");
        Assert.Empty(await api.VerifyLedgerAsync());

        var again = await settlement.RunOnceAsync(SettlementFixture.RunDate, SettlementReport.OnceTrigger, CancellationToken.None);

        Assert.Equal((0, 0), (again.Settled, again.Refused));
        Assert.True(again.Unchanged >= lines);
        Assert.Equal(transfers, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers"));
    }

    [Fact]
    public async Task Two_runs_racing_over_a_generated_day_settle_each_payment_once()
    {
        const int Lines = 600;
        var merchant = await api.CreateMerchantAsync(payableMayGoNegative: false);
        var tag = "r" + Guid.NewGuid().ToString("N")[..10];
        var at = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        await api.BulkChargesAsync(tag, Lines, at, 700);
        await using (var connection = await api.Postgres.OpenAsync())
            await ReconciliationSeed.CapturedPaymentsAsync(connection, "stripe", merchant, tag, Lines, at, 700, CancellationToken.None);
        await api.PassPayoutDelayAsync();

        // Small write batches, so that the two runs' batches collide often: a collided batch commits nothing and its
        // payments are written again one by one, where the version check lets one run win each.
        var reports = await Task.WhenAll(
            api.NewSettlement(("Settlement:WriteBatchSize", "20")).RunOnceAsync(SettlementFixture.RunDate, SettlementReport.OnceTrigger, CancellationToken.None),
            api.NewSettlement(("Settlement:WriteBatchSize", "20")).RunOnceAsync(SettlementFixture.RunDate, SettlementReport.OnceTrigger, CancellationToken.None));

        Assert.Equal(Lines, reports.Sum(r => r.Settled));
        Assert.Equal(0, reports.Sum(r => r.Refused));
        Assert.Equal(Lines, await api.ScalarAsync("SELECT count(*) FROM payments WHERE merchant_id = @m AND status = 'settled'", ("m", merchant)));
        Assert.Equal(Lines, await api.ScalarAsync(
            "SELECT count(*) FROM outbox o JOIN payments p ON p.id = o.aggregate_id WHERE p.merchant_id = @m AND o.event_type = 'payment.settled'",
            ("m", merchant)));
        Assert.Equal(Lines, await api.ScalarAsync(
            "SELECT count(*) FROM payment_settlements s JOIN payments p ON p.id = s.payment_id WHERE p.merchant_id = @m", ("m", merchant)));
        Assert.Empty(await api.VerifyLedgerAsync());
    }
}

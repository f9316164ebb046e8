using System.Diagnostics;
using Payrail.Reconciliation;
using Payrail.Settlement;
using Xunit;
using Xunit.Abstractions;

namespace Payrail.Tests.Settlement;

/// <summary>
/// A generated day (pspsim's bulk charges, matching CAPTURED payments written set-based): every payment settles once, in
/// write batches, with its fee and cash; a re-run posts nothing. Prints payments per second and this process's CPU time
/// (PAYRAIL_SETTLE_SCALE_LINES sets the size for a measurement; the suite keeps it small).
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

        Assert.Equal((0, lines), (again.Settled, again.Unchanged));
        Assert.Equal(transfers, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers"));
    }
}

using Payrail.Bench;
using Xunit;

namespace Payrail.Tests.Dashboard;

/// <summary>
/// `payrail bench dashboard` against the test stack (API → outbox → relay → devkafka → merchant-dashboard consumer →
/// stream log → /stream): a short run sees every payment it sent, and a row that never comes is counted missing.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardBenchTests(DashboardStack stack)
{
    private const int RatePerSecond = 20;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task A_short_dashboard_bench_sees_every_payment_it_sent_captured_on_the_merchants_stream()
    {
        const string merchant = "m_bench";
        await stack.AddMerchantAsync(merchant, "Bench");

        var report = await DashboardBench.RunAsync(Options(merchant, streamOf: merchant, TimeSpan.FromSeconds(20)), CancellationToken.None);

        Assert.Equal(0, report.Api.Failed);
        Assert.Equal(RatePerSecond * (long)Duration.TotalSeconds, report.Created);
        Assert.Equal((report.Created, 0L), (report.Seen, report.Missing));
        Assert.True(report.Millis(100) > 0 && report.Millis(100) <= 20_000, $"max {report.Millis(100)} ms");
    }

    [Fact]
    public async Task A_payment_whose_row_never_reaches_the_watched_stream_is_counted_missing_after_the_row_deadline()
    {
        const string paid = "m_bench_paid", watched = "m_bench_other";
        await stack.AddMerchantAsync(paid, "Bench paid");
        await stack.AddMerchantAsync(watched, "Bench watched");

        // Payments to one merchant while another's stream is read: merchant isolation means no row can ever arrive.
        var report = await DashboardBench.RunAsync(Options(paid, streamOf: watched, TimeSpan.FromMilliseconds(500)), CancellationToken.None);

        Assert.Equal(RatePerSecond * (long)Duration.TotalSeconds, report.Created);
        Assert.Equal((0L, report.Created), (report.Seen, report.Missing));
        Assert.False(report.MeetsTarget);
    }

    private DashboardBenchOptions Options(string paid, string streamOf, TimeSpan rowDeadline) =>
        new(new Uri(stack.BaseUrl), new Uri(stack.DashboardUrl), stack.BuyerToken("b_bench"), stack.MerchantToken(streamOf), paid,
            RatePerSecond, Duration, rowDeadline, WarmUp: TimeSpan.Zero);
}

using Payrail.Reconciliation;
using Xunit;

namespace Payrail.Tests.Reconciliation;

/// <summary>
/// The slices a run's PSP readers list at once (<see cref="WindowSlices"/>): pure, then through pspsim, where every
/// line must be read exactly once whatever the number of readers.
/// </summary>
public sealed class WindowSlicesTests(ReconciliationFixture api) : IClassFixture<ReconciliationFixture>
{
    [Theory]
    [InlineData(0, 86_400_000, 4)]
    [InlineData(500, 3_600_250, 16)]
    [InlineData(0, 2_500, 4)]
    [InlineData(999, 1_001, 8)]
    [InlineData(0, 86_400_000, 1)]
    public void Slices_are_adjacent_cut_at_whole_seconds_and_cover_the_window_exactly(long fromMs, long toMs, int readers)
    {
        var from = DateTimeOffset.FromUnixTimeMilliseconds(1_796_000_000_000 + fromMs);
        var to = DateTimeOffset.FromUnixTimeMilliseconds(1_796_000_000_000 + toMs);

        var slices = WindowSlices.Cut(from, to, readers);

        Assert.InRange(slices.Count, 1, readers);
        Assert.Equal(from, slices[0].From);
        Assert.Equal(to, slices[^1].To);
        for (var i = 0; i < slices.Count; i++)
        {
            Assert.True(slices[i].From < slices[i].To);
            if (i > 0) Assert.Equal(slices[i - 1].To, slices[i].From);
            if (i > 0) Assert.Equal(0, slices[i].From.ToUnixTimeMilliseconds() % 1_000);
        }
    }

    [Fact]
    public async Task Four_readers_read_every_line_of_a_window_once_with_the_buckets_and_hash_of_one_reader()
    {
        var from = ReconciliationFixture.WindowStart().AddSeconds(-60);
        var tag = "s" + Guid.NewGuid().ToString("N")[..8];
        for (var second = 0; second < 7; second++) await api.BulkChargesAsync(tag + second, 10 + second, from.AddSeconds(second), 1_000);
        var window = new ReconciliationWindow(from, from.AddSeconds(7));

        var one = await api.NewReconciliation(("Reconciliation:PspReaders", "1"), ("Reconciliation:ClockSkew", "00:00:00"))
            .RunAsync(window, ReconciliationReport.OnceTrigger, dryRun: true, CancellationToken.None);
        var four = await api.NewReconciliation(("Reconciliation:PspReaders", "4"), ("Reconciliation:ClockSkew", "00:00:00"))
            .RunAsync(window, ReconciliationReport.OnceTrigger, dryRun: true, CancellationToken.None);

        Assert.Equal((91L, 91L), (one.PspLines, four.PspLines));
        Assert.Equal(91, four.Count(Buckets.MissingInPayrail));
        Assert.Equal(one.ResultHash, four.ResultHash);
    }
}

using Payrail.Sweeper;
using Xunit;

namespace Payrail.Tests.Sweeper;

/// <summary>The sweeper's pure decisions: backoff, which way to ask the PSP, when to abandon; its settings named when broken.</summary>
public sealed class SweepDecisionTests
{
    private static readonly SweeperOptions Defaults = new();

    [Fact]
    public void The_backoff_is_one_minute_then_five_minutes_five_times_then_hourly()
    {
        var waits = Enumerable.Range(1, 9).Select(n => SweepDecision.Backoff(n, Defaults).TotalMinutes).ToArray();

        Assert.Equal([1, 5, 5, 5, 5, 5, 60, 60, 60], waits);
    }

    [Fact]
    public void The_backoff_never_exceeds_its_bound_and_never_stops_asking()
    {
        for (var checks = 0; checks <= 100_000; checks++)
        {
            var wait = SweepDecision.Backoff(checks, Defaults);
            Assert.InRange(wait, Defaults.FirstBackoff, Defaults.MaxBackoff);
        }
    }

    [Theory]
    [InlineData(2, true, false, UnreferencedStep.ResumeCreate)]
    [InlineData(2, true, true, UnreferencedStep.ResolveServerError)]
    [InlineData(2, false, false, UnreferencedStep.Search)] // a row written before its method was kept
    [InlineData(23 * 60, true, false, UnreferencedStep.Search)] // its key may be forgotten at the PSP soon: never sent again
    [InlineData(24 * 60, true, true, UnreferencedStep.Search)]
    public void A_payment_without_a_PSP_reference_is_re_created_under_its_key_only_while_that_is_safe(
        int ageMinutes, bool knowsMethod, bool serverError, UnreferencedStep expected) =>
        Assert.Equal(expected, SweepDecision.ForUnreferenced(TimeSpan.FromMinutes(ageMinutes), knowsMethod, serverError, Defaults));

    [Fact]
    public void A_payment_is_abandoned_only_past_AbandonAfter_and_a_search_freshness_window_after_its_last_create()
    {
        var now = DateTimeOffset.UnixEpoch.AddDays(10);
        var freshness = TimeSpan.FromSeconds(90);

        Assert.False(SweepDecision.Abandon(TimeSpan.FromHours(23), now, now.AddHours(-2), freshness, Defaults));
        Assert.False(SweepDecision.Abandon(TimeSpan.FromHours(25), now, now.AddSeconds(-60), freshness, Defaults));
        Assert.True(SweepDecision.Abandon(TimeSpan.FromHours(25), now, now.AddSeconds(-90), freshness, Defaults));
    }

    [Fact]
    public void Each_broken_setting_is_named()
    {
        var broken = new SweeperOptions
        {
            Interval = TimeSpan.Zero, BatchSize = 0, Lease = TimeSpan.FromSeconds(10), MaxBackoff = TimeSpan.FromSeconds(1),
            ResumeCreateWithin = TimeSpan.FromHours(24), AbandonAfter = TimeSpan.FromSeconds(1), EventsPageSize = 101,
        };

        var problems = broken.Problems().ToList();

        Assert.Empty(Defaults.Problems());
        foreach (var setting in new[] { "Sweeper:Interval", "Sweeper:BatchSize", "Sweeper:Lease", "Sweeper:MaxBackoff",
                     "Sweeper:ResumeCreateWithin", "Sweeper:AbandonAfter", "Sweeper:EventsPageSize" })
            Assert.Contains(problems, p => p.StartsWith(setting + " ", StringComparison.Ordinal));
        Assert.Single(SweeperOptions.AuthorizationExpiryProblems(TimeSpan.Zero), p => p.StartsWith("Payments:AuthorizationExpiry "));
        Assert.Single(new SweeperOptions { Threshold = TimeSpan.FromSeconds(5) }.ProblemsWith(syncBudgetMs: 5_000),
            p => p.StartsWith("Sweeper:Threshold ", StringComparison.Ordinal));
    }
}

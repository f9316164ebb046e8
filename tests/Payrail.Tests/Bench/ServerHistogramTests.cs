using Payrail.Bench;
using Xunit;

namespace Payrail.Tests.Bench;

public sealed class ServerHistogramTests
{
    private static string Metrics(long under5Ms, long under50Ms, long all) => $$"""
        # TYPE payrail_webhooks_duration_seconds histogram
        payrail_webhooks_duration_seconds_bucket{outcome="applied",le="0.005"} {{under5Ms}} 1764539000000
        payrail_webhooks_duration_seconds_bucket{outcome="applied",le="0.05"} {{under50Ms}} 1764539000000
        payrail_webhooks_duration_seconds_bucket{outcome="applied",le="+Inf"} {{all}} 1764539000000
        payrail_webhooks_duration_seconds_bucket{outcome="stale",le="+Inf"} 7 1764539000000
        """;

    [Fact]
    public void The_difference_of_two_readings_gives_one_runs_percentiles_as_bucket_bounds()
    {
        var run = ServerHistogram.Parse(Metrics(1_090, 1_194, 1_200)).Minus(ServerHistogram.Parse(Metrics(90, 95, 100)));

        Assert.Equal(1_100, run.Count);
        Assert.Equal("5", run.UpperBoundMs(50));
        Assert.Equal("50", run.UpperBoundMs(99));
        Assert.Equal("∞", run.UpperBoundMs(100));
    }
}

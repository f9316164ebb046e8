using Payrail.Bench;
using Xunit;

namespace Payrail.Tests.Bench;

public sealed class LatencyRecorderTests
{
    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void Latency_counts_from_when_a_request_was_due_not_from_when_it_left()
    {
        var recorder = new LatencyRecorder();
        // Due at 10 ms, sent late by a paused generator, answered at 310 ms: 300 ms, however late it left.
        var late = recorder.Begin(Ms(10));
        recorder.Complete(late, null, Ms(310));

        var report = recorder.ToReport("t", 1);
        Assert.InRange(report.Millis(100), 299.5, 300.5);
    }

    [Fact]
    public void The_longest_stall_is_the_longest_time_nothing_completed_while_a_request_was_outstanding()
    {
        var recorder = new LatencyRecorder();
        var slow = recorder.Begin(Ms(0));
        var fast = recorder.Begin(Ms(100));
        // Nothing completes from 0 to 150 ms although the slow one is outstanding all along: a 150 ms stall,
        // though the request that ends it took only 50 ms.
        recorder.Complete(fast, null, Ms(150));
        var next = recorder.Begin(Ms(160));
        recorder.Complete(next, null, Ms(170));
        recorder.Complete(slow, null, Ms(260));
        // Idle time with nothing outstanding is no stall.
        var idle = recorder.Begin(Ms(1_000));
        recorder.Complete(idle, "http 503", Ms(1_010));

        var report = recorder.ToReport("t", 1);
        Assert.Equal((Ms(150), Ms(150)), (report.LongestStall, report.LongestStallEnd));
        Assert.Equal((3L, 1L), (report.Succeeded, report.Failed));
    }
}

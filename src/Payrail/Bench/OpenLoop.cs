using System.Diagnostics;

namespace Payrail.Bench;

/// <summary>
/// Requests due at a fixed rate whatever the answers do (open loop). Each is timed from when it was due, not from when
/// it left, so a stall on either side shows in full (no coordinated omission): a request the generator sends late
/// because it was itself paused is charged for that delay too.
/// </summary>
public static class OpenLoop
{
    /// <summary>In-flight bound of one generator: beyond it requests are counted as not sent (failures), never queued.</summary>
    public const int MaxInFlight = 2_048;

    public static async Task RunAsync(Func<CancellationToken, Task<string?>> send, int ratePerSecond, LatencyRecorder recorder,
        Stopwatch clock, TimeSpan end, CancellationToken cancellationToken)
    {
        var inFlight = new List<Task>();
        var interval = TimeSpan.FromSeconds(1.0 / ratePerSecond);
        var due = TimeSpan.Zero;
        while (due < end && !cancellationToken.IsCancellationRequested)
        {
            var wait = due - clock.Elapsed;
            // Task.Delay's granularity is ~1 ms; a request that is late is sent at once (and timed from when it was due).
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                try { await Task.Delay(wait, cancellationToken); }
                catch (OperationCanceledException) { break; }
            }
            inFlight.RemoveAll(t => t.IsCompleted);
            if (inFlight.Count >= MaxInFlight) recorder.NotSent("not sent: too many in flight");
            else
            {
                var handle = recorder.Begin(due);
                inFlight.Add(Task.Run(async () =>
                {
                    var outcome = await send(cancellationToken);
                    recorder.Complete(handle, outcome, clock.Elapsed);
                }, CancellationToken.None));
            }
            due += interval;
        }
        await Task.WhenAll(inFlight);
    }
}

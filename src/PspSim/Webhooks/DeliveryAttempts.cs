namespace PspSim.Webhooks;

public static class AttemptOutcomes
{
    /// <summary>2xx.</summary>
    public const string Delivered = "delivered";
    /// <summary>Non-2xx, no answer within PspSim:WebhookTimeoutMs, or no connection: retried while attempts remain.</summary>
    public const string Failed = "failed";
    /// <summary>A drop fault: never sent.</summary>
    public const string Dropped = "dropped";
    /// <summary>Not sent: the endpoint was deleted or disabled meanwhile, or the queue was full.</summary>
    public const string Skipped = "skipped";
}

/// <summary>One delivery attempt as GET /_sim/webhooks/attempts shows it.</summary>
public sealed record DeliveryAttempt(
    long Seq, string EventId, string EventType, string EndpointId, string? Url, int Attempt, int Copy, int? Status, string Outcome,
    string? Error, long AtMs, long ElapsedMs, long? NextAttemptInMs, bool GaveUp);

/// <summary>The last <see cref="PspSimOptions.WebhookMaxAttemptsKept"/> attempts, oldest first (older ones dropped).</summary>
public sealed class DeliveryAttempts(int maxKept)
{
    private readonly Lock _gate = new();
    private readonly Queue<DeliveryAttempt> _attempts = new();
    private long _seq;

    public long NextSeq() => Interlocked.Increment(ref _seq);

    public void Record(DeliveryAttempt attempt)
    {
        lock (_gate)
        {
            _attempts.Enqueue(attempt);
            while (_attempts.Count > maxKept) _attempts.Dequeue();
        }
    }

    /// <summary>The newest <paramref name="limit"/> attempts that match, oldest first.</summary>
    public List<DeliveryAttempt> Find(string? eventId, string? endpointId, int limit)
    {
        lock (_gate)
        {
            var matching = _attempts.Where(a => (eventId is null || a.EventId == eventId) && (endpointId is null || a.EndpointId == endpointId)).ToList();
            return matching.Skip(Math.Max(0, matching.Count - limit)).ToList();
        }
    }
}

using System.Diagnostics.Metrics;
using System.Globalization;

namespace Payrail.Outbox;

/// <summary>
/// The relay's metrics (meter <see cref="MeterName"/>) and the last figures its loops measured, which `payrail status`
/// shows through the worker's <c>/loops</c> (<see cref="Summary"/>).
/// </summary>
public sealed class RelayMetrics
{
    public const string MeterName = "Payrail.Outbox.Relay";

    private readonly Counter<long> _published;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _rounds;
    private readonly Counter<long> _pruned;
    private long _backlog = -1;
    private bool _backlogCapped;
    private double _oldestAgeSeconds;
    private int _ownedPartitions;

    public RelayMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _published = meter.CreateCounter<long>("payrail.outbox.published", "{event}", "Outbox events acknowledged by Kafka and marked published.");
        _failed = meter.CreateCounter<long>("payrail.outbox.delivery_failures", "{event}",
            "Outbox events Kafka did not acknowledge in time; they stay unpublished and go out on a later round.");
        _rounds = meter.CreateCounter<long>("payrail.outbox.relay_rounds", "{round}", "Relay rounds, by outcome (published, idle, failed).");
        _pruned = meter.CreateCounter<long>("payrail.outbox.pruned", "{event}", "Published outbox rows deleted after their retention.");
        meter.CreateObservableGauge("payrail.outbox.backlog", () => Math.Max(0, Interlocked.Read(ref _backlog)), "{event}",
            "Unpublished outbox rows at the last count (capped at Relay:MaxBacklogCount).");
        meter.CreateObservableGauge("payrail.outbox.oldest_unpublished_age", () => Volatile.Read(ref _oldestAgeSeconds), "s",
            "Age of the oldest unpublished outbox row at the last count (0 when none waits).");
        meter.CreateObservableGauge("payrail.outbox.owned_partitions", () => Volatile.Read(ref _ownedPartitions), "{partition}",
            "Ownership partitions this worker's relays publish (all its instances together).");
    }

    /// <summary>The partitions this worker's relay instances own together.</summary>
    public int OwnedPartitions => Volatile.Read(ref _ownedPartitions);

    /// <summary>One instance's ownership changed by <paramref name="delta"/> (instances add up: one gauge per worker).</summary>
    public void OwnedPartitionsChanged(int delta) => Interlocked.Add(ref _ownedPartitions, delta);

    /// <summary>Unpublished rows at the last count; -1 before the first.</summary>
    public long Backlog => Interlocked.Read(ref _backlog);

    public double OldestUnpublishedAgeSeconds => Volatile.Read(ref _oldestAgeSeconds);

    public void Round(int published, int failed)
    {
        if (published > 0) _published.Add(published);
        if (failed > 0) _failed.Add(failed);
        _rounds.Add(1, new KeyValuePair<string, object?>("outcome", failed > 0 ? "failed" : published > 0 ? "published" : "idle"));
    }

    public void RoundFailed() => _rounds.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));

    public void Pruned(int rows)
    {
        if (rows > 0) _pruned.Add(rows);
    }

    public void BacklogMeasured(long rows, bool capped, double oldestAgeSeconds)
    {
        _backlogCapped = capped;
        Volatile.Write(ref _oldestAgeSeconds, oldestAgeSeconds);
        Interlocked.Exchange(ref _backlog, rows);
    }

    /// <summary>One line for `payrail status`: "relay: backlog 12, oldest 0.4 s, partitions 16/16".</summary>
    public string Summary(int partitions)
    {
        var backlog = Backlog;
        var count = backlog < 0 ? "?" : (_backlogCapped ? "≥" : "") + backlog.ToString("N0", CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture,
            $"relay: backlog {count}, oldest {OldestUnpublishedAgeSeconds:0.0} s, partitions {OwnedPartitions}/{partitions}");
    }
}

namespace Payrail.Outbox;

/// <summary>
/// Section <c>Relay</c>: every bound of the outbox relay (<see cref="OutboxRelay"/>) and its housekeeping
/// (<see cref="OutboxHousekeeping"/>), validated at start. README "The outbox relay" explains the design.
/// </summary>
public sealed class RelayOptions
{
    public const string SectionName = "Relay";

    /// <summary>Off: the worker runs no relay (events wait in the outbox). A switch for tests and for a worker set aside.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Where every outbox event goes (DESIGN.md "Events and Kafka").</summary>
    public string Topic { get; set; } = "payments.v1";

    /// <summary>The consumers' dead-letter topic, created beside <see cref="Topic"/> so no consumer waits for it.</summary>
    public string DeadLetterTopic { get; set; } = "payments.v1.dlq";

    /// <summary>Kafka partitions of both topics when the relay creates them (an existing topic keeps its own).</summary>
    public int TopicPartitions { get; set; } = 6;

    /// <summary>Replicas of each partition when the relay creates the topics: 1 for devkafka, 3 on a real cluster.</summary>
    public short TopicReplicationFactor { get; set; } = 1;

    /// <summary>
    /// Ownership partitions: each payment belongs to one (hash of its id), each is owned by at most one relay at a time
    /// (a PostgreSQL advisory lock). More than relay instances, so the work splits; a handful, so the locks stay cheap.
    /// Changing it while relays run is unsafe: stop every worker first.
    /// </summary>
    public int OwnershipPartitions { get; set; } = 16;

    /// <summary>Most relay instances one worker may run (<see cref="Instances"/>): each holds a session and a producer.</summary>
    public const int MaxInstances = 8;

    /// <summary>
    /// Relay instances in this worker, each with its own session and producer, sharing the ownership partitions as
    /// separate workers' relays do. Two, because one relay's round is serial (read, produce, wait for acks, mark) and
    /// leaves both PostgreSQL and Kafka idle part of the time: measured 14,505 events/s with one and 24,954 with two on
    /// this machine (README "The outbox relay"). At most <see cref="OwnershipPartitions"/>, or an instance owns nothing.
    /// </summary>
    public int Instances { get; set; } = 2;

    /// <summary>Rows read, produced and marked by one round: one bounded transaction and one bounded wait for acks.</summary>
    public int BatchSize { get; set; } = 2_000;

    /// <summary>Pause after a round that found rows but not a full batch: how soon a fresh commit is seen under load.</summary>
    public int MinPollMs { get; set; } = 5;

    /// <summary>Longest pause when the outbox is idle: the poll backs off from <see cref="MinPollMs"/> to this (≤ 1 s).</summary>
    public int MaxIdlePollMs { get; set; } = 250;

    /// <summary>
    /// The poll stays at <see cref="InstancePollMs"/> until no row was found for this long, then backs off: gaps between
    /// payments shorter than this never delay the next one (at 10 ms a poll, 20 cheap reads per relay after the last row).
    /// </summary>
    public int BackoffAfterIdleMs { get; set; } = 200;

    /// <summary>
    /// One instance's short poll: <see cref="MinPollMs"/> × <see cref="Instances"/>, so a worker's relays together read the
    /// outbox as often as one relay did. Each instance sees only its partitions' rows; polling each at MinPollMs doubled
    /// the reads and marks per event at 200 payments/s (0.12 → 0.27 reads per event, `bench worker --statements`). Under a
    /// backlog nothing changes: a full batch is followed by the next read at once.
    /// </summary>
    public int InstancePollMs => Math.Min(MinPollMs * Math.Max(1, Instances), MaxIdlePollMs);

    /// <summary>How often a relay counts the live relays and takes or gives back partitions (and checks its locks).</summary>
    public int OwnershipCheckIntervalMs { get; set; } = 1_000;

    /// <summary>librdkafka's message.timeout.ms: how long a message may wait for its ack before it counts as failed.</summary>
    public int DeliveryTimeoutMs { get; set; } = 10_000;

    /// <summary>librdkafka's socket.timeout.ms: a broker that stops answering is given up after this.</summary>
    public int SocketTimeoutMs { get; set; } = 10_000;

    /// <summary>librdkafka's linger.ms: how long the producer gathers a batch of messages before it sends one.</summary>
    public int LingerMs { get; set; } = 2;

    /// <summary>Bounds topic creation at start (AdminClient); retried on the next round when Kafka is down.</summary>
    public int AdminTimeoutMs { get; set; } = 10_000;

    /// <summary>First pause after a failed round (Kafka or PostgreSQL down); doubles up to <see cref="MaxFailureBackoffMs"/>.</summary>
    public int FailureBackoffMs { get; set; } = 100;

    public int MaxFailureBackoffMs { get; set; } = 5_000;

    /// <summary>Each SQL statement of the relay and its housekeeping is cancelled after this.</summary>
    public int DatabaseTimeoutSeconds { get; set; } = 30;

    /// <summary>How often the backlog (unpublished rows and the oldest one's age) is measured for metrics and status.</summary>
    public int BacklogIntervalMs { get; set; } = 2_000;

    /// <summary>The backlog count stops here: a huge backlog is reported as "at least", never counted row by row.</summary>
    public int MaxBacklogCount { get; set; } = 1_000_000;

    /// <summary>Published rows are kept this long (to replay or inspect), then deleted. Format d.hh:mm:ss.</summary>
    public TimeSpan PublishedRetention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Oldest rows looked at (and deleted when past retention) by one prune statement: one short transaction.</summary>
    public int PruneBatchSize { get; set; } = 2_000;

    /// <summary>Prune statements in one run: bounds a run after a long pause; the next run goes on.</summary>
    public int MaxPruneBatchesPerRun { get; set; } = 50;

    public int PruneIntervalMs { get; set; } = 60_000;

    public IEnumerable<string> Problems()
    {
        if (string.IsNullOrWhiteSpace(Topic) || Topic.Length > 249) yield return $"{SectionName}:Topic must be 1-249 characters";
        if (string.IsNullOrWhiteSpace(DeadLetterTopic) || DeadLetterTopic.Length > 249)
            yield return $"{SectionName}:DeadLetterTopic must be 1-249 characters";
        if (TopicPartitions is < 1 or > 1_000) yield return $"{SectionName}:TopicPartitions must be within [1, 1000]";
        if (TopicReplicationFactor is < 1 or > 16) yield return $"{SectionName}:TopicReplicationFactor must be within [1, 16]";
        if (OwnershipPartitions is < 1 or > 1_024) yield return $"{SectionName}:OwnershipPartitions must be within [1, 1024]";
        if (Instances < 1 || Instances > Math.Min(MaxInstances, Math.Max(1, OwnershipPartitions)))
            yield return $"{SectionName}:Instances must be within [1, min({MaxInstances}, OwnershipPartitions)]";
        if (BatchSize is < 1 or > 50_000) yield return $"{SectionName}:BatchSize must be within [1, 50000]";
        if (MinPollMs is < 1 or > 1_000) yield return $"{SectionName}:MinPollMs must be within [1, 1000]";
        if (MaxIdlePollMs < MinPollMs || MaxIdlePollMs > 1_000) yield return $"{SectionName}:MaxIdlePollMs must be within [MinPollMs, 1000]";
        if (BackoffAfterIdleMs is < 0 or > 10_000) yield return $"{SectionName}:BackoffAfterIdleMs must be within [0, 10000]";
        if (OwnershipCheckIntervalMs is < 50 or > 60_000) yield return $"{SectionName}:OwnershipCheckIntervalMs must be within [50, 60000]";
        if (DeliveryTimeoutMs is < 100 or > 300_000) yield return $"{SectionName}:DeliveryTimeoutMs must be within [100, 300000]";
        if (SocketTimeoutMs is < 100 or > 300_000) yield return $"{SectionName}:SocketTimeoutMs must be within [100, 300000]";
        if (LingerMs is < 0 or > 1_000) yield return $"{SectionName}:LingerMs must be within [0, 1000]";
        if (AdminTimeoutMs is < 100 or > 300_000) yield return $"{SectionName}:AdminTimeoutMs must be within [100, 300000]";
        if (FailureBackoffMs is < 1 or > 60_000) yield return $"{SectionName}:FailureBackoffMs must be within [1, 60000]";
        if (MaxFailureBackoffMs < FailureBackoffMs || MaxFailureBackoffMs > 300_000)
            yield return $"{SectionName}:MaxFailureBackoffMs must be within [FailureBackoffMs, 300000]";
        if (DatabaseTimeoutSeconds is < 1 or > 3_600) yield return $"{SectionName}:DatabaseTimeoutSeconds must be within [1, 3600]";
        if (BacklogIntervalMs is < 50 or > 3_600_000) yield return $"{SectionName}:BacklogIntervalMs must be within [50, 3600000]";
        if (MaxBacklogCount is < 1 or > 100_000_000) yield return $"{SectionName}:MaxBacklogCount must be within [1, 100000000]";
        if (PublishedRetention < TimeSpan.Zero || PublishedRetention > TimeSpan.FromDays(365))
            yield return $"{SectionName}:PublishedRetention must be within [0, 365 days]";
        if (PruneBatchSize is < 1 or > 100_000) yield return $"{SectionName}:PruneBatchSize must be within [1, 100000]";
        if (MaxPruneBatchesPerRun is < 1 or > 10_000) yield return $"{SectionName}:MaxPruneBatchesPerRun must be within [1, 10000]";
        if (PruneIntervalMs is < 10 or > 86_400_000) yield return $"{SectionName}:PruneIntervalMs must be within [10, 86400000]";
    }
}

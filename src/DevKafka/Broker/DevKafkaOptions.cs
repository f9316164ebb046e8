namespace DevKafka.Broker;

/// <summary>When the broker forces appended data to disk.</summary>
public enum FsyncPolicy
{
    /// <summary>fsync before acknowledging acks=all produces (default; what `payrail up` and tests rely on).</summary>
    BeforeAcksAll,
    /// <summary>fsync before acknowledging any produce that expects a response (acks=1 and acks=all).</summary>
    BeforeEveryAck,
    /// <summary>Leave flushing to the OS: fastest, loses acknowledged data on power loss.</summary>
    Never,
}

/// <summary>Settings of one devkafka broker. Every bound the broker enforces lives here.</summary>
public sealed record DevKafkaOptions
{
    public int Port { get; init; } = 9092;
    /// <summary>Host advertised in Metadata/FindCoordinator and listened on (loopback only).</summary>
    public string Host { get; init; } = "127.0.0.1";
    public string DataDirectory { get; init; } = Path.Combine(".payrail", "kafka");
    public int DefaultPartitions { get; init; } = 6;
    public bool AutoCreateTopics { get; init; } = true;
    public FsyncPolicy Fsync { get; init; } = FsyncPolicy.BeforeAcksAll;

    public long SegmentBytes { get; init; } = 64L * 1024 * 1024;
    /// <summary>Per-partition size cap; whole closed segments beyond it are deleted. -1 = unbounded.</summary>
    public long RetentionBytes { get; init; } = 1024L * 1024 * 1024;
    public TimeSpan RetentionAge { get; init; } = TimeSpan.FromDays(7);
    public TimeSpan RetentionCheckInterval { get; init; } = TimeSpan.FromMinutes(1);

    public int MaxRequestBytes { get; init; } = 16 * 1024 * 1024;
    /// <summary>Bytes of requests read but not yet answered, over all connections (must be ≥ MaxRequestBytes).</summary>
    public long MaxBufferedRequestBytes { get; init; } = 256L * 1024 * 1024;
    /// <summary>Largest record batch accepted (Kafka's message.max.bytes).</summary>
    public int MaxMessageBytes { get; init; } = 8 * 1024 * 1024;
    /// <summary>Upper bound on one Fetch response, whatever the client asks for.</summary>
    public int MaxFetchBytes { get; init; } = 16 * 1024 * 1024;
    /// <summary>Bound on the in-memory batch index of one partition; beyond it the oldest closed segments go.</summary>
    public int MaxBatchesPerPartition { get; init; } = 1_000_000;
    public int MaxFetchWaitMs { get; init; } = 30_000;
    public int MaxConnections { get; init; } = 1024;
    /// <summary>Once a size prefix arrived, the rest of the frame must follow within this time.</summary>
    public TimeSpan FrameReadTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Requests read ahead of their responses per connection (librdkafka pipelines up to 5 produces).</summary>
    public int MaxInFlightPerConnection { get; init; } = 32;
    public int MaxTopics { get; init; } = 10_000;
    public int MaxPartitionsPerTopic { get; init; } = 1_000;
    public int MaxProducersPerPartition { get; init; } = 10_000;
    public int MaxGroups { get; init; } = 10_000;
    public int MaxMembersPerGroup { get; init; } = 1_000;

    public int MinSessionTimeoutMs { get; init; } = 1_000;
    public int MaxSessionTimeoutMs { get; init; } = 1_800_000;
    /// <summary>Cap on how long a rebalance waits for members to rejoin (Kafka uses each member's max.poll.interval.ms).</summary>
    public int MaxRebalanceTimeoutMs { get; init; } = 300_000;
    public int InitialRebalanceDelayMs { get; init; }
    /// <summary>Resolution of session/rebalance timers.</summary>
    public TimeSpan GroupTick { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeProvider Time { get; init; } = TimeProvider.System;
    /// <summary>Where the broker writes its log lines; defaults to stderr.</summary>
    public Action<string>? Log { get; init; }
}

using Payrail.Domain.Money;

namespace Payrail.Consumers;

/// <summary>
/// Section <c>Consumers</c>: every bound of the consumer loop (<see cref="ConsumerLoop"/>) and of the six handlers, in one
/// place, each validated at start.
/// </summary>
public sealed class ConsumersOptions
{
    public const string SectionName = "Consumers";

    /// <summary>The topic the outbox relay publishes to (DESIGN.md "Events and Kafka").</summary>
    public string Topic { get; set; } = "payments.v1";

    /// <summary>Where a message goes after <see cref="MaxAttempts"/> failed attempts or when it cannot be read at all.</summary>
    public string DeadLetterTopic { get; set; } = "payments.v1.dlq";

    /// <summary>Partitions of the topics when the worker has to create them (a fresh broker); an existing topic is kept.</summary>
    public int TopicPartitions { get; set; } = 6;

    /// <summary>Attempts at one message before it goes to the dead-letter topic and its partition moves on.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>First pause after a failed attempt; doubles per attempt up to <see cref="MaxRetryDelayMs"/>.</summary>
    public int RetryBaseDelayMs { get; set; } = 100;

    public int MaxRetryDelayMs { get; set; } = 5_000;

    /// <summary>
    /// Longest a message may hold its partition while the database is unreachable (such failures count no attempt: an
    /// outage is not a poison message). Past it the message is abandoned (not stored, sought back) and consumed again,
    /// so the consumer keeps polling and stays in its group.
    /// </summary>
    public int MaxHoldMs { get; set; } = 60_000;

    /// <summary>Upper bound of one attempt (handler transaction and after-commit effect).</summary>
    public int HandlerTimeoutMs { get; set; } = 10_000;

    /// <summary>
    /// Messages handled in one database transaction (inbox rows and effects), their offsets stored after its commit. One
    /// transaction per message held each group near 160 events/s (a commit's WAL flush each); a batch pays it once.
    /// </summary>
    public int MaxBatchMessages { get; set; } = 500;

    /// <summary>
    /// After a batch's first message, how long the loop waits for more (what is already fetched comes at once): the
    /// latency one quiet-time event may gain.
    /// </summary>
    public int MaxBatchWaitMs { get; set; } = 5;

    /// <summary>
    /// librdkafka's fetch.min.bytes: the broker holds a fetch until this much is there (or <see cref="FetchWaitMaxMs"/>
    /// passed). 1, librdkafka's default: holding fetches for 16 KB (25 ms at most) saved neither the worker, devkafka nor
    /// PostgreSQL anything measurable at 200 payments/s (README "The worker's CPU per event").
    /// </summary>
    public int FetchMinBytes { get; set; } = 1;

    /// <summary>
    /// librdkafka's fetch.wait.max.ms: the most an empty fetch is held (librdkafka's default, 500): how often an idle
    /// consumer asks again, never a delay for an event that arrives (the broker answers a held fetch at the append).
    /// </summary>
    public int FetchWaitMaxMs { get; set; } = 500;

    /// <summary>Longest one Consume call blocks: how quickly a loop notices shutdown.</summary>
    public int PollTimeoutMs { get; set; } = 100;

    /// <summary>librdkafka commits the offsets we stored at this interval (it never commits one we did not store).</summary>
    public int AutoCommitIntervalMs { get; set; } = 1_000;

    public int SessionTimeoutMs { get; set; } = 10_000;

    /// <summary>Must exceed the longest a message can hold the loop (<see cref="MaxHoldMs"/>, all attempts and their pauses).</summary>
    public int MaxPollIntervalMs { get; set; } = 300_000;

    /// <summary>Upper bound of a dead-letter publish (its delivery report); on failure the message is retried, not dropped.</summary>
    public int DeadLetterTimeoutMs { get; set; } = 10_000;

    /// <summary>How often each loop reports its lag (from its fetch positions and the broker's high watermarks).</summary>
    public int LagIntervalMs { get; set; } = 2_000;

    /// <summary>Longest error text carried in a dead-letter header.</summary>
    public const int MaxErrorChars = 1_000;

    /// <summary>Which of the six handlers this worker runs (each its own consumer group).</summary>
    public ConsumerSwitches Enabled { get; set; } = new();

    public NotificationsOptions Notifications { get; set; } = new();
    public FraudOptions Fraud { get; set; } = new();
    public AccountingOptions Accounting { get; set; } = new();
    public LoyaltyOptions Loyalty { get; set; } = new();
    public DashboardOptions Dashboard { get; set; } = new();

    /// <summary>The longest one message can hold the loop: the database away, or all its attempts and pauses, then its dead letter.</summary>
    public long WorstHoldMs => Math.Max(MaxHoldMs, (long)MaxAttempts * (HandlerTimeoutMs + MaxRetryDelayMs)) + DeadLetterTimeoutMs;

    /// <summary>The longest a batch can hold the loop before its first message may go alone (which the loop bounds by <see cref="WorstHoldMs"/>).</summary>
    public long WorstBatchHoldMs => MaxBatchWaitMs + Math.Max(MaxHoldMs, HandlerTimeoutMs) + WorstHoldMs;

    public TimeSpan RetryDelay(int failedAttempts) =>
        TimeSpan.FromMilliseconds(Math.Min(MaxRetryDelayMs, (long)RetryBaseDelayMs << Math.Min(failedAttempts - 1, 20)));

    public IEnumerable<string> Problems()
    {
        if (!IsTopicName(Topic)) yield return $"{SectionName}:Topic must be 1-249 of [a-zA-Z0-9._-]";
        if (!IsTopicName(DeadLetterTopic) || DeadLetterTopic == Topic)
            yield return $"{SectionName}:DeadLetterTopic must be 1-249 of [a-zA-Z0-9._-] and differ from Topic";
        if (TopicPartitions is < 1 or > 1_000) yield return $"{SectionName}:TopicPartitions must be within [1, 1000]";
        if (MaxAttempts is < 1 or > 100) yield return $"{SectionName}:MaxAttempts must be within [1, 100]";
        if (RetryBaseDelayMs is < 1 or > 60_000) yield return $"{SectionName}:RetryBaseDelayMs must be within [1, 60000]";
        if (MaxRetryDelayMs < RetryBaseDelayMs || MaxRetryDelayMs > 60_000)
            yield return $"{SectionName}:MaxRetryDelayMs must be within [RetryBaseDelayMs, 60000]";
        if (MaxHoldMs is < 100 or > 600_000) yield return $"{SectionName}:MaxHoldMs must be within [100, 600000]";
        if (HandlerTimeoutMs is < 100 or > 120_000) yield return $"{SectionName}:HandlerTimeoutMs must be within [100, 120000]";
        if (PollTimeoutMs is < 10 or > 5_000) yield return $"{SectionName}:PollTimeoutMs must be within [10, 5000]";
        if (AutoCommitIntervalMs is < 10 or > 60_000) yield return $"{SectionName}:AutoCommitIntervalMs must be within [10, 60000]";
        if (SessionTimeoutMs is < 1_000 or > 300_000) yield return $"{SectionName}:SessionTimeoutMs must be within [1000, 300000]";
        if (DeadLetterTimeoutMs is < 100 or > 120_000) yield return $"{SectionName}:DeadLetterTimeoutMs must be within [100, 120000]";
        if (LagIntervalMs is < 100 or > 600_000) yield return $"{SectionName}:LagIntervalMs must be within [100, 600000]";
        if (MaxBatchMessages is < 1 or > 10_000) yield return $"{SectionName}:MaxBatchMessages must be within [1, 10000]";
        if (MaxBatchWaitMs is < 0 or > 1_000) yield return $"{SectionName}:MaxBatchWaitMs must be within [0, 1000]";
        if (FetchMinBytes is < 1 or > 1_048_576) yield return $"{SectionName}:FetchMinBytes must be within [1, 1048576]";
        if (FetchWaitMaxMs is < 0 or > 1_000) yield return $"{SectionName}:FetchWaitMaxMs must be within [0, 1000]";
        if (MaxPollIntervalMs < WorstBatchHoldMs || MaxPollIntervalMs > 3_600_000)
            yield return $"{SectionName}:MaxPollIntervalMs must exceed the longest hold of a batch and then one message ({WorstBatchHoldMs} ms) and be at most 3600000";
        foreach (var problem in Notifications.Problems()
            .Concat(Fraud.Problems()).Concat(Accounting.Problems()).Concat(Loyalty.Problems()).Concat(Dashboard.Problems()))
            yield return problem;
    }

    private static bool IsTopicName(string? name) =>
        name is { Length: > 0 and <= 249 } && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}

/// <summary>Section <c>Consumers:Enabled</c>: each handler can be switched off on its own.</summary>
public sealed class ConsumerSwitches
{
    public bool Notifications { get; set; } = true;
    public bool Fraud { get; set; } = true;
    public bool Accounting { get; set; } = true;
    public bool Analytics { get; set; } = true;
    public bool Loyalty { get; set; } = true;
    public bool MerchantDashboard { get; set; } = true;
}

/// <summary>Section <c>Consumers:Notifications</c>.</summary>
public sealed class NotificationsOptions
{
    /// <summary>The file sender's folder (one file per message); empty means <c>.payrail/mail</c>.</summary>
    public string MailDirectory { get; set; } = "";

    public string ResolvedMailDirectory =>
        MailDirectory is { Length: > 0 } d ? d : Path.Combine(PayrailConfiguration.StateDirectory, "mail");

    /// <summary>Messages one dispatch round takes, sends and marks sent in one transaction (<see cref="Notifications.NotificationDispatch"/>).</summary>
    public int DispatchBatchSize { get; set; } = 200;

    /// <summary>
    /// The dispatcher's poll when nothing woke it (the handler wakes it after each commit): how soon messages a killed
    /// worker committed but did not send go out. At most 1 s.
    /// </summary>
    public int DispatchIdlePollMs { get; set; } = 500;

    public IEnumerable<string> Problems()
    {
        if (DispatchBatchSize is < 1 or > 10_000) yield return "Consumers:Notifications:DispatchBatchSize must be within [1, 10000]";
        if (DispatchIdlePollMs is < 1 or > 1_000) yield return "Consumers:Notifications:DispatchIdlePollMs must be within [1, 1000]";
    }
}

/// <summary>Section <c>Consumers:Fraud</c>: the rules' windows and thresholds (<see cref="Fraud.FraudRules"/>).</summary>
public sealed class FraudOptions
{
    /// <summary>Sliding window of the velocity rules, in event time.</summary>
    public int VelocityWindowSeconds { get; set; } = 600;

    /// <summary>Payments one buyer may start within the window before the velocity rule fires.</summary>
    public int MaxPaymentsPerBuyer { get; set; } = 5;

    /// <summary>Payments one card (fingerprint) or payment method may start within the window.</summary>
    public int MaxPaymentsPerInstrument { get; set; } = 5;

    /// <summary>Sliding window of the decline-burst rule.</summary>
    public int DeclineWindowSeconds { get; set; } = 600;

    /// <summary>Declines of one buyer within the window from which a burst is reported.</summary>
    public int MaxDeclinesPerBuyer { get; set; } = 3;

    /// <summary>Amount per currency (minor units) above which a payment is flagged; currencies not listed are not checked.</summary>
    public Dictionary<string, long> AmountThresholdsMinor { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["USD"] = 500_000, ["EUR"] = 500_000, ["GBP"] = 400_000, ["JPY"] = 700_000,
    };

    public IEnumerable<string> Problems()
    {
        const string s = "Consumers:Fraud:";
        if (VelocityWindowSeconds is < 1 or > 86_400 * 30) yield return $"{s}VelocityWindowSeconds must be within [1, 2592000]";
        if (DeclineWindowSeconds is < 1 or > 86_400 * 30) yield return $"{s}DeclineWindowSeconds must be within [1, 2592000]";
        if (MaxPaymentsPerBuyer is < 1 or > 1_000_000) yield return $"{s}MaxPaymentsPerBuyer must be within [1, 1000000]";
        if (MaxPaymentsPerInstrument is < 1 or > 1_000_000) yield return $"{s}MaxPaymentsPerInstrument must be within [1, 1000000]";
        if (MaxDeclinesPerBuyer is < 1 or > 1_000_000) yield return $"{s}MaxDeclinesPerBuyer must be within [1, 1000000]";
        if (AmountThresholdsMinor.Count > 200) yield return $"{s}AmountThresholdsMinor may name at most 200 currencies";
        foreach (var (code, minor) in AmountThresholdsMinor)
            if (!Currency.TryFromCode(code, out var currency) || minor < 1 || minor > MoneyLimits.MaxAmountMinor(currency))
                yield return $"{s}AmountThresholdsMinor:{code} must be a known currency with a valid amount in minor units";
    }
}

/// <summary>Section <c>Consumers:Accounting</c>.</summary>
public sealed class AccountingOptions
{
    /// <summary>Folder of the daily settlement files; empty means <c>.payrail/settlement</c>.</summary>
    public string SettlementDirectory { get; set; } = "";

    /// <summary>Bounds one day's file (and the read API's answer).</summary>
    public int MaxLinesPerDay { get; set; } = 1_000_000;

    /// <summary>
    /// A day's file is rewritten at most this often (after the batches that changed it; a pending change is written when
    /// the interval has passed, and at shutdown): rewriting it whole per event cost a day's worth of lines per event.
    /// </summary>
    public int MinFileIntervalMs { get; set; } = 1_000;

    /// <summary>
    /// At start the files of the days within this many days back (UTC) are rewritten from the table: a change whose file
    /// write was still pending when the worker was killed is written then.
    /// </summary>
    public int RepairDays { get; set; } = 7;

    public string ResolvedSettlementDirectory =>
        SettlementDirectory is { Length: > 0 } d ? d : Path.Combine(PayrailConfiguration.StateDirectory, "settlement");

    public IEnumerable<string> Problems()
    {
        if (MaxLinesPerDay is < 1 or > 10_000_000) yield return "Consumers:Accounting:MaxLinesPerDay must be within [1, 10000000]";
        if (MinFileIntervalMs is < 0 or > 3_600_000) yield return "Consumers:Accounting:MinFileIntervalMs must be within [0, 3600000]";
        if (RepairDays is < 0 or > 366) yield return "Consumers:Accounting:RepairDays must be within [0, 366]";
    }
}

/// <summary>Section <c>Consumers:Loyalty</c>.</summary>
public sealed class LoyaltyOptions
{
    /// <summary>Points per whole currency unit (1 USD, 1 JPY), integers; currencies not listed earn nothing.</summary>
    public Dictionary<string, long> PointsPerUnit { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["USD"] = 10, ["EUR"] = 10, ["GBP"] = 12, ["JPY"] = 0,
    };

    /// <summary>Largest rate: with MoneyLimits.MaxAmountMinor it keeps amount × rate within a long.</summary>
    public const long MaxPointsPerUnit = 1_000;

    public IEnumerable<string> Problems()
    {
        foreach (var (code, rate) in PointsPerUnit)
            if (!Currency.TryFromCode(code, out _) || rate is < 0 or > MaxPointsPerUnit)
                yield return $"Consumers:Loyalty:PointsPerUnit:{code} must be a known currency with a rate within [0, {MaxPointsPerUnit}]";
    }
}

/// <summary>Section <c>Consumers:Dashboard</c>.</summary>
public sealed class DashboardOptions
{
    /// <summary>
    /// Empty: the group is <c>merchant-dashboard</c>. Set (one per dashboard instance): the group is
    /// <c>merchant-dashboard.{InstanceId}</c>, so every instance reads every event (README "Consumers").
    /// </summary>
    public string InstanceId { get; set; } = "";

    /// <summary>Events buffered per live subscriber; a slow one loses its oldest events (and is told so), never stalls the loop.</summary>
    public int SubscriberBufferEvents { get; set; } = 256;

    public int MaxSubscribers { get; set; } = 1_000;

    public IEnumerable<string> Problems()
    {
        const string s = "Consumers:Dashboard:";
        if (InstanceId.Length > 64 || InstanceId.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
            yield return $"{s}InstanceId must be at most 64 of [a-zA-Z0-9_-]";
        if (SubscriberBufferEvents is < 1 or > 100_000) yield return $"{s}SubscriberBufferEvents must be within [1, 100000]";
        if (MaxSubscribers is < 1 or > 100_000) yield return $"{s}MaxSubscribers must be within [1, 100000]";
    }
}

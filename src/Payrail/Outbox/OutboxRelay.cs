using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Hosting;

namespace Payrail.Outbox;

/// <summary>
/// Where the relay's sessions come from: unpooled connections (<see cref="PostgresPool.ForSessions"/>), so that the end of
/// a relay's session, by a crash or a lost connection, frees its partitions at once.
/// </summary>
public sealed record RelaySessions(NpgsqlDataSource Source)
{
    /// <summary>Statements a session keeps prepared: its read, mark and housekeeping statements, a handful.</summary>
    public const int MaxAutoPrepare = 16;

    /// <summary>
    /// A session reads and marks with the same statements every round (up to 1,000/MinPollMs a second under load):
    /// prepared once per session instead of parsed and planned each time (README "The worker's CPU per event").
    /// </summary>
    public static string Prepared(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.MaxAutoPrepare == 0) builder.MaxAutoPrepare = MaxAutoPrepare;
        return builder.ConnectionString;
    }
}

/// <summary>Where a test stops a relay as a crash would: after Kafka acknowledged a round, before it was marked published.</summary>
public sealed class RelayCrashPoints
{
    public Action<IReadOnlyList<Guid>>? AfterDeliveredBeforeMarked { get; set; }
}

/// <summary>
/// The outbox relay (DESIGN.md "Events and Kafka", README "The outbox relay"): on its own session connection it owns
/// some ownership partitions (<see cref="RelayOwnership"/>), reads their unpublished rows oldest first in bounded
/// batches (<see cref="OutboxReads"/>), produces them with an idempotent producer (acks=all, key = payment id), waits
/// for every delivery report and only then marks the acknowledged rows published. A crash between the two sends the
/// same events again (at least once; the consumers dedupe by event id); it never loses one. Kafka down: rounds fail,
/// rows wait in the outbox and the relay backs off; payments never notice.
/// </summary>
public sealed class OutboxRelay(RelaySessions sessions, IOptions<RelayOptions> options, KafkaOptions kafka, RelayMetrics metrics,
    RelayCrashPoints crashPoints, TimeProvider clock, ILogger<OutboxRelay> logger) : BackgroundService
{
    private readonly RelayOptions _options = options.Value;
    private readonly RelayOwnership _ownership = new(options.Value.OwnershipPartitions, options.Value.DatabaseTimeoutSeconds);
    private int _failureBackoffMs = options.Value.FailureBackoffMs;
    private bool _topicsReady;
    private int _reportedOwned;

    /// <summary>The partitions this relay publishes right now (tests watch ownership move).</summary>
    public IReadOnlyCollection<int> OwnedPartitions => _ownership.Owned;

    /// <summary>One round's outcome: rows acknowledged and marked, rows Kafka did not acknowledge.</summary>
    public readonly record struct Round(int Published, int Failed);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunSessionAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return; // stopping: an unmarked batch goes out again from the next owner
            }
            catch (Exception e) when (IsTransient(e) && !stoppingToken.IsCancellationRequested)
            {
                // The session (and with it every partition lock) or the producer is gone: start both afresh.
                metrics.RoundFailed();
                logger.LogWarning("Outbox relay round failed, starting a new session: {Reason}", e.Message);
            }
            finally
            {
                _ownership.Lost();
                ReportOwned(0);
            }
            if (!await BackOffAsync(stoppingToken)) return;
        }
    }

    /// <summary>This instance's share of the worker's owned-partitions gauge (other instances add theirs).</summary>
    private void ReportOwned(int owned)
    {
        metrics.OwnedPartitionsChanged(owned - _reportedOwned);
        _reportedOwned = owned;
    }

    private static bool IsTransient(Exception e) => e is NpgsqlException or KafkaException or TimeoutException;

    /// <summary>
    /// One session: joins the relays, then rounds until cancelled or a round throws. Rounds overlap two deep: while
    /// Kafka acknowledges one batch, the next is read (without the rows in flight) and produced, then the first is
    /// marked. Partitions are rebalanced only with nothing in flight.
    /// </summary>
    private async Task RunSessionAsync(CancellationToken cancellationToken)
    {
        await using var session = await sessions.Source.OpenConnectionAsync(cancellationToken);
        await ConfigureSessionAsync(session, cancellationToken);
        await _ownership.JoinAsync(session, cancellationToken);
        using var producer = BuildProducer();
        var nextOwnershipCheck = DateTimeOffset.MinValue;
        var idleMs = _options.InstancePollMs;
        var lastRowsAt = clock.GetUtcNow();
        InFlight? inFlight = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (clock.GetUtcNow() >= nextOwnershipCheck)
            {
                var drained = await CompleteAsync(session, inFlight, cancellationToken);
                inFlight = null;
                metrics.Round(drained.Published, drained.Failed);
                ReportOwned(await _ownership.RebalanceAsync(session, cancellationToken));
                nextOwnershipCheck = clock.GetUtcNow().AddMilliseconds(_options.OwnershipCheckIntervalMs);
            }
            if (!await EnsureTopicsAsync(cancellationToken))
            {
                if (!await BackOffAsync(cancellationToken)) return;
                continue;
            }

            var rows = await ReadAsync(session, inFlight, cancellationToken);
            var next = rows.Count == 0 ? null : new InFlight(rows, ProduceAsync(producer, rows, cancellationToken));
            var round = await CompleteAsync(session, inFlight, cancellationToken);
            inFlight = next;
            metrics.Round(round.Published, round.Failed);
            if (round.Failed > 0)
            {
                // Let the batch behind it finish too before pausing: nothing stays in flight across a back-off.
                metrics.Round(0, (await CompleteAsync(session, inFlight, cancellationToken)).Failed);
                inFlight = null;
                if (!await BackOffAsync(cancellationToken)) return;
                continue;
            }
            _failureBackoffMs = _options.FailureBackoffMs;
            if (rows.Count >= _options.BatchSize) continue; // more waits: no pause
            if (inFlight is not null || round.Published > 0) lastRowsAt = clock.GetUtcNow();
            idleMs = NextIdleMs(idleMs, (clock.GetUtcNow() - lastRowsAt).TotalMilliseconds, _options);
            // Poll with backoff instead of LISTEN/NOTIFY: NOTIFY takes a cluster-wide lock at every commit that sends one.
            if (!await DelayAsync(idleMs, cancellationToken)) return;
        }
    }

    /// <summary>
    /// The pause before the next poll: <see cref="RelayOptions.InstancePollMs"/> until the relay has found no rows for
    /// <see cref="RelayOptions.BackoffAfterIdleMs"/>, then doubling up to <see cref="RelayOptions.MaxIdlePollMs"/>. Doubling
    /// from the second empty poll made a relay that sees a trickle (half the partitions at 200 payments/s: a payment
    /// every 10 ms) back off between payments to 40–80 ms: commit → published p50 53 ms instead of 20
    /// (`bench worker`, README "The outbox relay").
    /// </summary>
    public static int NextIdleMs(int idleMs, double idleForMs, RelayOptions options) =>
        idleForMs < options.BackoffAfterIdleMs ? options.InstancePollMs
            : Math.Min(Math.Max(idleMs, options.InstancePollMs) * 2, options.MaxIdlePollMs);

    /// <summary>A batch produced and not yet marked: its rows and the task of its delivery reports.</summary>
    private sealed record InFlight(IReadOnlyList<OutboxRow> Rows, Task<bool[]> Deliveries)
    {
        public long[] Seqs => Rows.Select(r => r.Seq).ToArray();
    }

    private async Task<IReadOnlyList<OutboxRow>> ReadAsync(NpgsqlConnection session, InFlight? inFlight, CancellationToken cancellationToken)
    {
        var owned = _ownership.Owned;
        if (owned.Count == 0) return [];
        return await OutboxReads.ReadUnpublishedAsync(session, owned, _options.OwnershipPartitions, _options.BatchSize, inFlight?.Seqs ?? [],
            _options.DatabaseTimeoutSeconds, cancellationToken);
    }

    /// <summary>Awaits every ack of a batch, then marks the acknowledged rows: the order that makes a crash duplicate, never lose.</summary>
    private async Task<Round> CompleteAsync(NpgsqlConnection session, InFlight? inFlight, CancellationToken cancellationToken)
    {
        if (inFlight is null) return default;
        var (rows, deliveries) = (inFlight.Rows, inFlight.Deliveries);
        var delivered = await deliveries;
        var acknowledged = new List<Guid>(rows.Count);
        var failed = new List<Guid>();
        for (var i = 0; i < rows.Count; i++) (delivered[i] ? acknowledged : failed).Add(rows[i].Id);
        crashPoints.AfterDeliveredBeforeMarked?.Invoke(acknowledged);

        await OutboxReads.MarkPublishedAsync(session, acknowledged, _options.DatabaseTimeoutSeconds, cancellationToken);
        await OutboxReads.CountFailedAttemptAsync(session, failed, _options.DatabaseTimeoutSeconds, cancellationToken);
        if (failed.Count > 0)
            logger.LogWarning("Kafka acknowledged {Published} of {Rows} outbox events; the rest stay unpublished", acknowledged.Count, rows.Count);
        return new Round(acknowledged.Count, failed.Count);
    }

    /// <summary>
    /// Produces the rows in order and waits for every delivery report (bounded by message.timeout.ms plus a margin).
    /// Returns, per row, whether Kafka acknowledged it. A fatal producer error throws: the producer must be rebuilt.
    /// </summary>
    private async Task<bool[]> ProduceAsync(IProducer<string, byte[]> producer, IReadOnlyList<OutboxRow> rows, CancellationToken cancellationToken)
    {
        var delivered = new bool[rows.Count];
        var pending = rows.Count;
        Error? fatal = null;
        var allReported = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Reported(int index, Error error)
        {
            if (error.IsFatal) fatal = error;
            delivered[index] = error.Code == ErrorCode.NoError;
            if (Interlocked.Decrement(ref pending) == 0) allReported.TrySetResult();
        }

        for (var i = 0; i < rows.Count; i++)
        {
            var index = i;
            var message = PaymentsTopicMessage.For(rows[i]);
            try
            {
                producer.Produce(_options.Topic, message, report => Reported(index, report.Error));
            }
            catch (ProduceException<string, byte[]> e)
            {
                // Refused locally (e.g. the producer is in a fatal state): this row and every later one count as failed.
                for (var rest = i; rest < rows.Count; rest++) Reported(rest, e.Error);
                break;
            }
        }
        // librdkafka looks for timed-out messages about once a second: a report may come that much after its timeout.
        var deadline = TimeSpan.FromMilliseconds(_options.DeliveryTimeoutMs + _options.SocketTimeoutMs + 2_000);
        await allReported.Task.WaitAsync(deadline, clock, cancellationToken);
        if (fatal is { } error) throw new KafkaException(error);
        return delivered;
    }

    private IProducer<string, byte[]> BuildProducer() =>
        new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            ClientId = "payrail-relay",
            // Idempotence: no duplicates from the producer's own retries, and in-order per partition with up to 5 in flight.
            EnableIdempotence = true,
            Acks = Acks.All,
            MaxInFlight = 5,
            MessageTimeoutMs = _options.DeliveryTimeoutMs,
            SocketTimeoutMs = _options.SocketTimeoutMs,
            RequestTimeoutMs = Math.Min(_options.SocketTimeoutMs, 30_000),
            LingerMs = _options.LingerMs,
            BatchSize = 1024 * 1024,
            // A round's rows all fit in the local queue: Produce never blocks on a full queue.
            QueueBufferingMaxMessages = Math.Max(100_000, _options.BatchSize * 2),
            DeliveryReportFields = "status",
        })
        .SetErrorHandler((_, error) =>
        {
            // Brokers down show up here every few seconds; the rounds' failures are what the metrics count.
            if (error.IsFatal) logger.LogError("Kafka producer fatal error: {Reason}", error.Reason);
            else logger.LogDebug("Kafka producer: {Reason}", error.Reason);
        })
        .SetLogHandler((_, message) => logger.LogDebug("librdkafka {Facility}: {Message}", message.Facility, message.Message))
        .Build();

    /// <summary>Creates the topics once per process; false (and a back-off) while Kafka cannot be reached.</summary>
    private async Task<bool> EnsureTopicsAsync(CancellationToken cancellationToken)
    {
        if (_topicsReady) return true;
        try
        {
            await OutboxTopics.EnsureAsync(kafka.BootstrapServers, _options, cancellationToken);
            _topicsReady = true;
            return true;
        }
        catch (Exception e) when (e is KafkaException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            metrics.RoundFailed();
            logger.LogWarning("Could not ensure topics {Topic} and {DeadLetterTopic}: {Reason}", _options.Topic, _options.DeadLetterTopic, e.Message);
            return false;
        }
    }

    /// <summary>
    /// The session's own settings (it is unpooled: they die with it). Server-side TCP keepalives: if this worker's host
    /// vanishes without closing the connection, PostgreSQL ends the session (and frees its partitions) within about
    /// 11 s instead of the kernel's 2 hours. No wait for the WAL flush at commit: the session only ever marks rows
    /// published (or counts attempts), and a mark lost in a database crash only sends those events again, which
    /// at-least-once allows; it spares each round a commit flush (measured: README "The outbox relay").
    /// </summary>
    private async Task ConfigureSessionAsync(NpgsqlConnection session, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3; SET synchronous_commit = off",
            session) { CommandTimeout = _options.DatabaseTimeoutSeconds };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<bool> BackOffAsync(CancellationToken cancellationToken)
    {
        var waitMs = _failureBackoffMs;
        _failureBackoffMs = Math.Min(_failureBackoffMs * 2, _options.MaxFailureBackoffMs);
        return await DelayAsync(waitMs, cancellationToken);
    }

    private async Task<bool> DelayAsync(int milliseconds, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(milliseconds), clock, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}

using System.Diagnostics;
using Confluent.Kafka;
using Npgsql;
using Payrail.Hosting;
using Payrail.Outbox;

namespace Payrail.Consumers;

/// <summary>
/// One handler's consumer: its own consumer group on <c>payments.v1</c>, on its own thread (Consume blocks).
/// <para>Exactly once: librdkafka never stores an offset by itself (<c>enable.auto.offset.store=false</c>). The loop takes
/// a batch (up to MaxBatchMessages, waiting at most MaxBatchWaitMs for more after the first); the handler's effects and
/// the batch's <c>(consumer, event_id)</c> inbox rows commit in one transaction; only then are the offsets stored, and
/// auto commit sends stored offsets to the broker (plus an explicit commit on revocation and at shutdown). A crash
/// anywhere before the store redelivers the batch, and the inbox turns each redelivered event into a no-op; an event
/// twice in one batch (a relay's duplicate) is applied once.</para>
/// <para>Failures: a database outage holds the batch (no attempt counted) up to MaxHoldMs, then abandons it (seeks
/// back, keeps polling). Any other failure of a batch of several events sends them one at a time, so a poison message
/// cannot hold the others back: each is retried with doubling pauses, and after MaxAttempts (the failed batch counts as
/// the first) it goes to the dead-letter topic and its partition moves on. A message with no CloudEvents headers or an
/// unreadable body goes there at once; an unknown type is skipped and counted.</para>
/// </summary>
public sealed class ConsumerLoop(IEventHandler handler, ConsumersOptions options, KafkaOptions kafka, NpgsqlDataSource database,
    DeadLetters deadLetters, ConsumerTopics topics, ConsumerMetrics metrics, ConsumerCrashPoints crashPoints,
    ILogger<ConsumerLoop> logger) : BackgroundService
{
    /// <summary>Set by the rebalance callbacks (they run on this thread, inside Consume): a batch stops growing there.</summary>
    private bool _rebalanced;

    private string Name => handler.Name;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            Run(stoppingToken);
            done.SetResult();
        }) { IsBackground = true, Name = "consumer-" + Name };
        thread.Start();
        return done.Task;
    }

    /// <summary>Runs consumers one after another until stopped; a broken one is rebuilt after a bounded pause.</summary>
    private void Run(CancellationToken stop)
    {
        for (var failures = 1; !stop.IsCancellationRequested; failures++)
        {
            try
            {
                topics.EnsureAsync(stop).GetAwaiter().GetResult();
                Consume(stop);
                return;
            }
            catch (SimulatedConsumerCrash)
            {
                logger.LogWarning("Consumer {Consumer} crashed (simulated)", Name);
                return;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError("Consumer {Consumer} failed, rebuilding it: {Reason}", Name, e.Message);
                if (stop.WaitHandle.WaitOne(options.RetryDelay(failures))) return;
            }
        }
    }

    private void Consume(CancellationToken stop)
    {
        using var consumer = Build();
        var crashed = false;
        try
        {
            consumer.Subscribe(options.Topic);
            var nextLagAt = Stopwatch.GetTimestamp();
            while (!stop.IsCancellationRequested)
            {
                var batch = Collect(consumer);
                if (batch.Count > 0) HandleBatch(consumer, batch, stop);
                Flush(final: false);
                if (Stopwatch.GetTimestamp() < nextLagAt) continue;
                ReportLag(consumer);
                nextLagAt = Stopwatch.GetTimestamp() + options.LagIntervalMs * Stopwatch.Frequency / 1000;
            }
        }
        catch (SimulatedConsumerCrash)
        {
            // A kill: the auto commit may have sent every stored offset just before it (the worst case, so do it), and
            // nothing else happens: no flush, no close, no leave-group. Dispose below does neither.
            crashed = true;
            CommitStored(consumer);
            throw;
        }
        finally
        {
            if (!crashed)
            {
                // Shutdown drain: the batch in hand has finished or was abandoned; finish deferred effects, send what is
                // stored, leave the group.
                Flush(final: true);
                CommitStored(consumer);
                consumer.Close();
            }
        }
    }

    private IConsumer<byte[]?, byte[]?> Build() =>
        new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            GroupId = handler.GroupId,
            ClientId = "payrail-" + handler.GroupId,
            EnableAutoOffsetStore = false,
            EnableAutoCommit = true,
            AutoCommitIntervalMs = options.AutoCommitIntervalMs,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeoutMs = options.SessionTimeoutMs,
            // librdkafka's default (3 s) would outlast a short session: the member would expire between heartbeats and
            // rejoin under a new id over and over (a rebalance every session, each redelivering up to a commit interval).
            HeartbeatIntervalMs = Math.Max(100, options.SessionTimeoutMs / 3),
            MaxPollIntervalMs = options.MaxPollIntervalMs,
            FetchMinBytes = options.FetchMinBytes,
            FetchWaitMaxMs = options.FetchWaitMaxMs,
            BrokerAddressFamily = BrokerAddressFamily.V4,
        })
        // Messages are handled on this thread, inside Consume's caller: when partitions are revoked nothing is in flight,
        // so what is stored is final; commit it now, before another member takes the partitions over.
        .SetPartitionsRevokedHandler((c, partitions) =>
        {
            _rebalanced = true;
            CommitStored(c);
        })
        // Lost (session expired): another member may own them already, so nothing is committed; the new owner redelivers
        // from the last commit and the inbox skips what was applied.
        .SetPartitionsLostHandler((_, partitions) =>
        {
            _rebalanced = true;
            logger.LogWarning("Consumer {Consumer} lost {Count} partition(s) without a clean revocation", Name, partitions.Count);
        })
        .SetErrorHandler((_, error) => logger.LogDebug("Consumer {Consumer}: {Error}", Name, error.Reason))
        .Build();

    /// <summary>
    /// Up to MaxBatchMessages: the first within PollTimeoutMs, then what arrives within MaxBatchWaitMs (what librdkafka
    /// has fetched already comes at once). A rebalance ends the batch, so it never mixes two assignments.
    /// </summary>
    private List<ConsumeResult<byte[]?, byte[]?>> Collect(IConsumer<byte[]?, byte[]?> consumer)
    {
        var batch = new List<ConsumeResult<byte[]?, byte[]?>>();
        _rebalanced = false;
        if (Poll(consumer, options.PollTimeoutMs) is not { } first) return batch;
        batch.Add(first);
        var until = Stopwatch.GetTimestamp() + options.MaxBatchWaitMs * Stopwatch.Frequency / 1000;
        while (batch.Count < options.MaxBatchMessages && !_rebalanced)
        {
            var leftMs = (int)Math.Max(0, (until - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency);
            if (Poll(consumer, leftMs) is not { } next) break;
            batch.Add(next);
        }
        return batch;
    }

    private ConsumeResult<byte[]?, byte[]?>? Poll(IConsumer<byte[]?, byte[]?> consumer, int timeoutMs)
    {
        try
        {
            return consumer.Consume(timeoutMs) is { Message: not null } result ? result : null;
        }
        catch (ConsumeException e) when (!e.Error.IsFatal)
        {
            // E.g. the topic is not there yet or the broker restarts: librdkafka retries by itself.
            logger.LogDebug("Consumer {Consumer}: {Error}", Name, e.Error.Reason);
            return null;
        }
    }

    /// <summary>
    /// Applies the batch's events (one transaction, else one at a time), deals with the rest in order (skip, dead-letter),
    /// then stores each partition's offset up to its first message not done and rewinds to that one.
    /// </summary>
    private void HandleBatch(IConsumer<byte[]?, byte[]?> consumer, List<ConsumeResult<byte[]?, byte[]?>> batch, CancellationToken stop)
    {
        var held = Stopwatch.StartNew();
        var deliveries = batch.Select(r => new Delivery(r, CloudEventMessage.Read(r.Message.Headers, r.Message.Value))).ToList();
        var progress = new BatchProgress();
        var events = deliveries.Where(d => d.Message.Kind == MessageKind.Event && handler.Handles(d.Message.Type!)).ToList();
        if (events.Count > 0) ApplyAll(events, progress, held, stop);
        foreach (var d in deliveries)
        {
            if (progress.IsBlocked(d.Result)) continue;
            switch (d.Message.Kind)
            {
                case MessageKind.UnknownType:
                    metrics.Message(Name, "unknown_type");
                    break;
                case MessageKind.MissingHeaders or MessageKind.Unparsable:
                    if (!DeadLetter(d.Result, d.Message.Problem!, attempts: 1,
                            d.Message.Kind == MessageKind.MissingHeaders ? "missing_headers" : "unparsable", stop))
                        progress.Block(d.Result);
                    break;
                default:
                    if (!handler.Handles(d.Message.Type!)) metrics.Message(Name, "ignored");
                    break;
            }
        }
        foreach (var (partition, next) in progress.StoreAndRewind(batch))
        {
            if (next.Store is { } last) Store(consumer, last);
            if (next.RewindTo is { } offset) Rewind(consumer, new TopicPartitionOffset(partition, offset));
        }
    }

    /// <summary>The batch in one transaction; if it fails (not for an outage), each event alone, to find the poison.</summary>
    private void ApplyAll(List<Delivery> events, BatchProgress progress, Stopwatch held, CancellationToken stop)
    {
        var priorFailures = 0;
        if (events.Count > 1)
        {
            switch (ApplyBatch(events.Select(d => d.Message.Event!).ToList(), stop))
            {
                case BatchOutcome.Applied:
                    return;
                case BatchOutcome.Abandoned:
                    foreach (var d in events) progress.Block(d.Result);
                    return;
            }
            priorFailures = 1;
        }
        foreach (var d in events)
        {
            if (progress.IsBlocked(d.Result)) continue;
            // A message may hold the loop up to WorstHoldMs: past this point the next could outlast max.poll.interval.ms
            // and cost the group its member, so the rest is left for the next poll (its partition rewound to it).
            if (held.ElapsedMilliseconds + options.WorstHoldMs > options.MaxPollIntervalMs || !ApplyOne(d, priorFailures, stop))
                progress.Block(d.Result);
        }
    }

    /// <summary>Attempts at a whole batch: applied, abandoned (the database away past MaxHoldMs, or shutdown), or failed.</summary>
    private BatchOutcome ApplyBatch(List<OutboxEvent> events, CancellationToken stop)
    {
        var held = Stopwatch.StartNew();
        for (var waits = 1; ; waits++)
        {
            try
            {
                ApplyOnceAsync(events).GetAwaiter().GetResult();
                return BatchOutcome.Applied;
            }
            catch (SimulatedConsumerCrash)
            {
                throw;
            }
            catch (Exception failure) when (IsDatabaseUnavailable(failure))
            {
                logger.LogWarning("Consumer {Consumer} waits for the database: {Reason}", Name, failure.Message);
                if (held.ElapsedMilliseconds >= options.MaxHoldMs || stop.WaitHandle.WaitOne(options.RetryDelay(waits)))
                    return BatchOutcome.Abandoned;
            }
            catch (Exception failure)
            {
                metrics.Retry(Name);
                logger.LogWarning("Consumer {Consumer} batch of {Count} events failed, trying them one at a time: {Reason}",
                    Name, events.Count, failure.Message);
                return BatchOutcome.Failed;
            }
        }
    }

    /// <summary>Attempts at one event until applied or dead-lettered (true), or abandoned (false).</summary>
    private bool ApplyOne(Delivery delivery, int priorFailures, CancellationToken stop)
    {
        var e = delivery.Message.Event!;
        var held = Stopwatch.StartNew();
        var failedAttempts = priorFailures;
        for (var waits = 1; ; waits++)
        {
            try
            {
                ApplyOnceAsync([e]).GetAwaiter().GetResult();
                return true;
            }
            catch (SimulatedConsumerCrash)
            {
                throw;
            }
            catch (Exception failure) when (IsDatabaseUnavailable(failure))
            {
                logger.LogWarning("Consumer {Consumer} waits for the database: {Reason}", Name, failure.Message);
                if (held.ElapsedMilliseconds >= options.MaxHoldMs || stop.WaitHandle.WaitOne(options.RetryDelay(waits))) return false;
            }
            catch (Exception failure)
            {
                failedAttempts++;
                if (failedAttempts >= options.MaxAttempts)
                    return DeadLetter(delivery.Result, $"{failure.GetType().Name}: {failure.Message}", failedAttempts, "handler_failed", stop);
                metrics.Retry(Name);
                logger.LogWarning("Consumer {Consumer} attempt {Attempt} at event {EventId} failed: {Reason}",
                    Name, failedAttempts, e.Id, failure.Message);
                if (stop.WaitHandle.WaitOne(options.RetryDelay(failedAttempts))) return false;
            }
        }
    }

    /// <summary>
    /// One attempt at <paramref name="events"/> in one transaction: the inbox claims each distinct event once, the handler
    /// applies the claimed ones (in order), commit, then the after-commit effects of all (redeliveries included).
    /// </summary>
    private async Task ApplyOnceAsync(IReadOnlyList<OutboxEvent> events)
    {
        var started = Stopwatch.GetTimestamp();
        using var timeout = new CancellationTokenSource(options.HandlerTimeoutMs);
        var cancellationToken = timeout.Token;
        foreach (var e in events) crashPoints.At(Name, ConsumerStage.Handling, e);
        // A relay that died between produce and mark publishes an event twice; both copies may land in one batch, and the
        // inbox would return the id once for both: only the first copy is applied.
        var distinct = BatchProgress.FirstOfEach(events);
        List<OutboxEvent> fresh;
        await using (var connection = await database.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            var claimed = await ConsumerInbox.ClaimAsync(transaction, Name, distinct, cancellationToken);
            fresh = distinct.Where(e => claimed.Contains(e.Id)).ToList();
            if (fresh.Count > 0)
            {
                await handler.ApplyAsync(transaction, fresh, cancellationToken);
                foreach (var e in fresh) crashPoints.At(Name, ConsumerStage.BeforeCommit, e);
            }
            await transaction.CommitAsync(cancellationToken);
        }
        foreach (var e in fresh) crashPoints.At(Name, ConsumerStage.AfterCommit, e);
        var applied = fresh.Select(e => e.Id).ToHashSet();
        await handler.AfterCommitAsync(distinct.Select(e => new CommittedEvent(e, !applied.Contains(e.Id))).ToList(), cancellationToken);
        metrics.Batch(Name, events.Count, Stopwatch.GetElapsedTime(started));
        metrics.Messages(Name, "applied", fresh.Count);
        metrics.Messages(Name, "duplicate", events.Count - fresh.Count);
        foreach (var e in fresh) metrics.EffectLag(Name, e.OccurredAt);
    }

    /// <summary>The handler's deferred effects; a failure is logged and left for the next flush (or the next start).</summary>
    private void Flush(bool final)
    {
        try
        {
            using var timeout = new CancellationTokenSource(options.HandlerTimeoutMs);
            handler.FlushAsync(final, timeout.Token).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not SimulatedConsumerCrash)
        {
            logger.LogWarning("Consumer {Consumer} could not finish its deferred effects: {Reason}", Name, e.Message);
        }
    }

    /// <summary>Publishes a dead letter: true once acknowledged; false when abandoned (the broker away past MaxHoldMs, shutdown).</summary>
    private bool DeadLetter(ConsumeResult<byte[]?, byte[]?> result, string error, int attempts, string reason, CancellationToken stop)
    {
        var held = Stopwatch.StartNew();
        for (var failures = 1; ; failures++)
        {
            try
            {
                deadLetters.Publish(result, Name, error, attempts);
                metrics.DeadLettered(Name, reason);
                logger.LogWarning("Consumer {Consumer} sent {Topic}[{Partition}]@{Offset} to the dead-letter topic after {Attempts} attempt(s): {Error}",
                    Name, result.Topic, result.Partition.Value, result.Offset.Value, attempts, error);
                return true;
            }
            catch (Exception e) when (e is KafkaException or TimeoutException)
            {
                // Never store past a message that is neither handled nor dead-lettered: it would be lost.
                logger.LogWarning("Consumer {Consumer} cannot reach the dead-letter topic: {Reason}", Name, e.Message);
                if (held.ElapsedMilliseconds >= options.MaxHoldMs || stop.WaitHandle.WaitOne(options.RetryDelay(failures))) return false;
            }
        }
    }

    private void Store(IConsumer<byte[]?, byte[]?> consumer, ConsumeResult<byte[]?, byte[]?> result)
    {
        try
        {
            consumer.StoreOffset(result);
        }
        catch (KafkaException e)
        {
            // The partition went to another member meanwhile: it will deliver the message again, and the inbox skips it.
            logger.LogInformation("Consumer {Consumer} could not store offset {Offset}: {Reason}", Name, result.Offset.Value, e.Error.Reason);
        }
    }

    /// <summary>Leaves a message unstored and rewinds its partition to it, so this or the next owner consumes it again.</summary>
    private void Rewind(IConsumer<byte[]?, byte[]?> consumer, TopicPartitionOffset first)
    {
        try
        {
            consumer.Seek(first);
        }
        catch (KafkaException e)
        {
            logger.LogDebug("Consumer {Consumer} could not seek back: {Reason}", Name, e.Error.Reason);
        }
    }

    private void CommitStored(IConsumer<byte[]?, byte[]?> consumer)
    {
        try
        {
            consumer.Commit();
        }
        catch (KafkaException e) when (e.Error.Code == ErrorCode.Local_NoOffset)
        {
            // Nothing stored since the last commit.
        }
        catch (KafkaException e)
        {
            logger.LogWarning("Consumer {Consumer} could not commit its offsets: {Reason}", Name, e.Error.Reason);
        }
    }

    private void ReportLag(IConsumer<byte[]?, byte[]?> consumer)
    {
        long lag = 0;
        foreach (var partition in consumer.Assignment)
        {
            var watermarks = consumer.GetWatermarkOffsets(partition);
            var position = consumer.Position(partition);
            if (watermarks.High == Offset.Unset || position == Offset.Unset) continue;
            lag += Math.Max(0, watermarks.High.Value - position.Value);
        }
        metrics.ReportLag(Name, lag);
    }

    private static bool IsDatabaseUnavailable(Exception e) =>
        e is NpgsqlException { IsTransient: true } && e is not PostgresException;
}

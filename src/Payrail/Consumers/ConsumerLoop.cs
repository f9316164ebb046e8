using System.Diagnostics;
using Confluent.Kafka;
using Npgsql;
using Payrail.Hosting;
using Payrail.Outbox;

namespace Payrail.Consumers;

/// <summary>
/// One handler's consumer: its own consumer group on <c>payments.v1</c>, on its own thread (Consume blocks).
/// <para>Exactly once: librdkafka never stores an offset by itself (<c>enable.auto.offset.store=false</c>). For each
/// message the handler's effect and the <c>(consumer, event_id)</c> inbox row commit in one transaction; only then is
/// the offset stored, and auto commit sends stored offsets to the broker (plus an explicit commit on revocation and at
/// shutdown). A crash anywhere before the store redelivers the message, and the inbox turns the redelivery into a no-op.</para>
/// <para>Failures: a database outage holds the message (no attempt counted) up to MaxHoldMs, then abandons it (seeks
/// back, keeps polling); any other failure is retried with doubling pauses, and after MaxAttempts the message goes to the
/// dead-letter topic and the partition moves on. A message with no CloudEvents headers or an unreadable body goes there at
/// once; an unknown type is skipped and counted.</para>
/// </summary>
public sealed class ConsumerLoop(IEventHandler handler, ConsumersOptions options, KafkaOptions kafka, NpgsqlDataSource database,
    DeadLetters deadLetters, ConsumerTopics topics, ConsumerMetrics metrics, ConsumerCrashPoints crashPoints,
    ILogger<ConsumerLoop> logger) : BackgroundService
{
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
                if (Poll(consumer) is { } result) Handle(consumer, result, stop);
                if (Stopwatch.GetTimestamp() < nextLagAt) continue;
                ReportLag(consumer);
                nextLagAt = Stopwatch.GetTimestamp() + options.LagIntervalMs * Stopwatch.Frequency / 1000;
            }
        }
        catch (SimulatedConsumerCrash)
        {
            // A kill: the auto commit may have sent every stored offset just before it (the worst case, so do it), and
            // nothing else happens: no close, no leave-group. Dispose below does neither.
            crashed = true;
            CommitStored(consumer);
            throw;
        }
        finally
        {
            if (!crashed)
            {
                // Shutdown drain: the message in hand has finished or was abandoned; send what is stored, leave the group.
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
            BrokerAddressFamily = BrokerAddressFamily.V4,
        })
        // Messages are handled on this thread, inside Consume's caller: when partitions are revoked nothing is in flight,
        // so what is stored is final; commit it now, before another member takes the partitions over.
        .SetPartitionsRevokedHandler((c, partitions) => CommitStored(c))
        // Lost (session expired): another member may own them already, so nothing is committed; the new owner redelivers
        // from the last commit and the inbox skips what was applied.
        .SetPartitionsLostHandler((_, partitions) =>
            logger.LogWarning("Consumer {Consumer} lost {Count} partition(s) without a clean revocation", Name, partitions.Count))
        .SetErrorHandler((_, error) => logger.LogDebug("Consumer {Consumer}: {Error}", Name, error.Reason))
        .Build();

    private ConsumeResult<byte[]?, byte[]?>? Poll(IConsumer<byte[]?, byte[]?> consumer)
    {
        try
        {
            return consumer.Consume(options.PollTimeoutMs) is { Message: not null } result ? result : null;
        }
        catch (ConsumeException e) when (!e.Error.IsFatal)
        {
            // E.g. the topic is not there yet or the broker restarts: librdkafka retries by itself.
            logger.LogDebug("Consumer {Consumer}: {Error}", Name, e.Error.Reason);
            return null;
        }
    }

    private void Handle(IConsumer<byte[]?, byte[]?> consumer, ConsumeResult<byte[]?, byte[]?> result, CancellationToken stop)
    {
        var message = CloudEventMessage.Read(result.Message.Headers, result.Message.Value);
        switch (message.Kind)
        {
            case MessageKind.UnknownType:
                metrics.Message(Name, "unknown_type");
                Store(consumer, result);
                return;
            case MessageKind.MissingHeaders or MessageKind.Unparsable:
                DeadLetter(consumer, result, message.Problem!, attempts: 1,
                    message.Kind == MessageKind.MissingHeaders ? "missing_headers" : "unparsable", stop);
                return;
        }
        if (!handler.Handles(message.Type!))
        {
            metrics.Message(Name, "ignored");
            Store(consumer, result);
            return;
        }
        Apply(consumer, result, message.Event!, stop);
    }

    /// <summary>Attempts until applied, dead-lettered, or abandoned (shutdown, or the database away past MaxHoldMs).</summary>
    private void Apply(IConsumer<byte[]?, byte[]?> consumer, ConsumeResult<byte[]?, byte[]?> result, OutboxEvent e, CancellationToken stop)
    {
        var held = Stopwatch.StartNew();
        var failedAttempts = 0;
        for (var waits = 1; ; waits++)
        {
            try
            {
                metrics.Message(Name, ApplyOnceAsync(e).GetAwaiter().GetResult());
                Store(consumer, result);
                return;
            }
            catch (SimulatedConsumerCrash)
            {
                throw;
            }
            catch (Exception failure) when (IsDatabaseUnavailable(failure))
            {
                logger.LogWarning("Consumer {Consumer} waits for the database: {Reason}", Name, failure.Message);
                if (held.ElapsedMilliseconds >= options.MaxHoldMs || stop.WaitHandle.WaitOne(options.RetryDelay(waits)))
                {
                    Abandon(consumer, result);
                    return;
                }
            }
            catch (Exception failure)
            {
                failedAttempts++;
                if (failedAttempts >= options.MaxAttempts)
                {
                    DeadLetter(consumer, result, $"{failure.GetType().Name}: {failure.Message}", failedAttempts, "handler_failed", stop);
                    return;
                }
                metrics.Retry(Name);
                logger.LogWarning("Consumer {Consumer} attempt {Attempt} at event {EventId} failed: {Reason}",
                    Name, failedAttempts, e.Id, failure.Message);
                if (stop.WaitHandle.WaitOne(options.RetryDelay(failedAttempts)))
                {
                    Abandon(consumer, result);
                    return;
                }
            }
        }
    }

    /// <summary>One attempt: "applied" the first time, "duplicate" when the inbox already holds the event.</summary>
    private async Task<string> ApplyOnceAsync(OutboxEvent e)
    {
        var started = Stopwatch.GetTimestamp();
        using var timeout = new CancellationTokenSource(options.HandlerTimeoutMs);
        var cancellationToken = timeout.Token;
        crashPoints.At(Name, ConsumerStage.Handling, e);
        bool claimed;
        await using (var connection = await database.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            claimed = await ConsumerInbox.TryClaimAsync(transaction, Name, e, cancellationToken);
            if (claimed)
            {
                await handler.ApplyAsync(transaction, e, cancellationToken);
                crashPoints.At(Name, ConsumerStage.BeforeCommit, e);
            }
            await transaction.CommitAsync(cancellationToken);
        }
        if (claimed) crashPoints.At(Name, ConsumerStage.AfterCommit, e);
        await handler.AfterCommitAsync(e, redelivered: !claimed, cancellationToken);
        metrics.HandlerDuration(Name, Stopwatch.GetElapsedTime(started));
        return claimed ? "applied" : "duplicate";
    }

    private void DeadLetter(IConsumer<byte[]?, byte[]?> consumer, ConsumeResult<byte[]?, byte[]?> result, string error, int attempts,
        string reason, CancellationToken stop)
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
                Store(consumer, result);
                return;
            }
            catch (Exception e) when (e is KafkaException or TimeoutException)
            {
                // Never store past a message that is neither handled nor dead-lettered: it would be lost.
                logger.LogWarning("Consumer {Consumer} cannot reach the dead-letter topic: {Reason}", Name, e.Message);
                if (held.ElapsedMilliseconds >= options.MaxHoldMs || stop.WaitHandle.WaitOne(options.RetryDelay(failures)))
                {
                    Abandon(consumer, result);
                    return;
                }
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

    /// <summary>Leaves the message unstored and rewinds to it, so this or the next owner consumes it again.</summary>
    private void Abandon(IConsumer<byte[]?, byte[]?> consumer, ConsumeResult<byte[]?, byte[]?> result)
    {
        try
        {
            consumer.Seek(result.TopicPartitionOffset);
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

using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using DevKafka.Broker;
using HdrHistogram;

namespace Payrail.Bench;

/// <summary>
/// `payrail bench kafka`: produces N messages with acks=all + idempotence and consumes them end to end,
/// against an existing broker (--bootstrap) or an in-process devkafka on a free port. Not a test.
/// </summary>
public static class KafkaBench
{
    private const int Partitions = 6;

    public static async Task<int> RunAsync(string? bootstrap, int messages, int messageBytes, CancellationToken cancellationToken)
    {
        if (messages <= 0 || messageBytes <= 0 || messageBytes > 1024 * 1024)
        {
            Console.Error.WriteLine("--messages must be > 0 and --size within 1..1048576");
            return 2;
        }
        DevKafkaBroker? broker = null;
        var dataDirectory = Path.Combine(Path.GetTempPath(), "payrail-bench-kafka-" + Guid.NewGuid().ToString("N"));
        try
        {
            if (bootstrap is null)
            {
                broker = await DevKafkaBroker.StartAsync(new DevKafkaOptions { Port = 0, DataDirectory = dataDirectory, Log = _ => { } });
                bootstrap = broker.BootstrapServers;
                Console.WriteLine($"in-process devkafka at {bootstrap} (fsync before acks=all)");
            }
            return await MeasureAsync(bootstrap, messages, messageBytes, cancellationToken);
        }
        finally
        {
            if (broker is not null) await broker.DisposeAsync();
            if (Directory.Exists(dataDirectory)) Directory.Delete(dataDirectory, recursive: true);
        }
    }

    private static async Task<int> MeasureAsync(string bootstrap, int messages, int messageBytes, CancellationToken cancellationToken)
    {
        var topic = $"bench-{Guid.NewGuid():N}"[..18];
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build())
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = Partitions, ReplicationFactor = 1 }]);

        var consumed = 0L;
        var consumerDone = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = Stopwatch.StartNew();
        var consumerThread = new Thread(() => Consume(bootstrap, topic, messages, clock, ref consumed, consumerDone, cancellationToken)) { IsBackground = true };
        consumerThread.Start();

        var latency = new LongHistogram(60_000_000, 3); // microseconds, up to 60 s
        var failures = 0L;
        var payload = new byte[messageBytes];
        Random.Shared.NextBytes(payload);
        var producerConfig = new ProducerConfig
        {
            BootstrapServers = bootstrap,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            BatchSize = 1024 * 1024,
            // Bounded local queue, as an outbox relay would keep it: latency then measures the broker, not a 100k backlog.
            QueueBufferingMaxMessages = 20_000,
            BrokerAddressFamily = BrokerAddressFamily.V4,
        };
        var produceStart = clock.Elapsed;
        using (var producer = new ProducerBuilder<Null, byte[]>(producerConfig).Build())
        {
            for (var i = 0; i < messages && !cancellationToken.IsCancellationRequested; i++)
            {
                var sent = Stopwatch.GetTimestamp();
                void Report(DeliveryReport<Null, byte[]> r)
                {
                    // Delivery reports arrive on the producer's single poll thread: one histogram writer.
                    if (r.Error.Code != ErrorCode.NoError) { Interlocked.Increment(ref failures); return; }
                    latency.RecordValue(Math.Max(1, (long)Stopwatch.GetElapsedTime(sent).TotalMicroseconds));
                }
                while (true)
                {
                    try
                    {
                        producer.Produce(topic, new Message<Null, byte[]> { Value = payload }, Report);
                        break;
                    }
                    catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                    {
                        producer.Poll(TimeSpan.FromMilliseconds(10)); // bounded local queue: wait for acks
                    }
                }
            }
            producer.Flush(TimeSpan.FromMinutes(2));
        }
        var produceTime = clock.Elapsed - produceStart;
        var endToEnd = await consumerDone.Task.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false) - produceStart;

        var megabytes = (double)messages * messageBytes / (1024 * 1024);
        Console.WriteLine($"messages         {messages:N0} x {messageBytes} B over {Partitions} partitions, acks=all, idempotent");
        Console.WriteLine($"produced         {messages / produceTime.TotalSeconds,12:N0} msgs/s {megabytes / produceTime.TotalSeconds,8:N1} MB/s  ({produceTime.TotalSeconds:N2} s)");
        Console.WriteLine($"end to end       {messages / endToEnd.TotalSeconds,12:N0} msgs/s {megabytes / endToEnd.TotalSeconds,8:N1} MB/s  ({endToEnd.TotalSeconds:N2} s, {Interlocked.Read(ref consumed):N0} consumed)");
        Console.WriteLine($"produce latency  (enqueue → ack) p50 {latency.GetValueAtPercentile(50) / 1000.0:N1} ms  p99 {latency.GetValueAtPercentile(99) / 1000.0:N1} ms  p99.9 {latency.GetValueAtPercentile(99.9) / 1000.0:N1} ms  max {latency.GetMaxValue() / 1000.0:N1} ms");
        if (failures > 0) Console.WriteLine($"failed deliveries {failures:N0}");
        return failures == 0 ? 0 : 1;
    }

    private static void Consume(string bootstrap, string topic, int messages, Stopwatch clock, ref long consumed,
        TaskCompletionSource<TimeSpan> done, CancellationToken cancellationToken)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "payrail-bench",
            EnableAutoCommit = false,
            BrokerAddressFamily = BrokerAddressFamily.V4,
        };
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config).Build();
        consumer.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var deadline = clock.Elapsed + TimeSpan.FromMinutes(5);
        while (Interlocked.Read(ref consumed) < messages && clock.Elapsed < deadline && !cancellationToken.IsCancellationRequested)
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is not null) Interlocked.Increment(ref consumed);
        done.TrySetResult(clock.Elapsed);
        consumer.Close();
    }
}

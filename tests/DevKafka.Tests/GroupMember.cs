using System.Collections.Concurrent;
using System.Globalization;
using Confluent.Kafka;

namespace DevKafka.Tests;

/// <summary>A consumer-group member polling on its own thread, recording what it received and owns.</summary>
internal sealed class GroupMember : IDisposable
{
    private readonly IConsumer<string, string> _consumer;
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private volatile TopicPartition[] _assignment = [];

    public GroupMember(string bootstrap, string group, string topic, string name)
    {
        Name = name;
        _consumer = new ConsumerBuilder<string, string>(KafkaClients.Consumer(bootstrap, group))
            .SetPartitionsAssignedHandler((_, parts) => { _assignment = parts.ToArray(); })
            .SetPartitionsRevokedHandler((_, _) => { _assignment = []; })
            .SetPartitionsLostHandler((_, _) => { _assignment = []; })
            .Build();
        _consumer.Subscribe(topic);
        _thread = new Thread(Poll) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public string Name { get; }
    public ConcurrentBag<int> Received { get; } = new();
    public IReadOnlyList<TopicPartition> Assignment => _assignment;

    private void Poll()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var result = _consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (result?.Message is not null) Received.Add(int.Parse(result.Message.Value, CultureInfo.InvariantCulture));
            }
            catch (ConsumeException) { } // transient (e.g. broker restarting); librdkafka recovers by itself
        }
    }

    private void StopPolling()
    {
        _stop.Cancel();
        _thread.Join(TimeSpan.FromSeconds(10));
    }

    /// <summary>Leaves the group properly: final commit, LeaveGroup.</summary>
    public void Close()
    {
        StopPolling();
        _consumer.Close();
        _consumer.Dispose();
    }

    /// <summary>Dies without leaving the group or committing: the broker has to notice by session timeout.</summary>
    public void Kill()
    {
        StopPolling();
        _consumer.Dispose();
    }

    public void Dispose()
    {
        if (!_stop.IsCancellationRequested) Kill();
        _stop.Dispose();
    }
}

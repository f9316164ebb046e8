using DevKafka.Broker;
using DevKafka.Protocol;

namespace DevKafka.Log;

public sealed record Topic(string Name, PartitionLog[] Partitions);

/// <summary>All topics and their partition logs under &lt;data&gt;/topics/&lt;topic&gt;/&lt;partition&gt;/.</summary>
public sealed class TopicStore : IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Topic> _topics = new(StringComparer.Ordinal);
    private readonly DevKafkaOptions _options;
    private readonly Action<string> _log;
    private readonly string _root;
    private readonly string _trash;

    public TopicStore(DevKafkaOptions options, Action<string> log)
    {
        _options = options;
        _log = log;
        _root = Path.Combine(options.DataDirectory, "topics");
        _trash = Path.Combine(options.DataDirectory, "deleted-topics");
        Directory.CreateDirectory(_root);
        if (Directory.Exists(_trash)) Directory.Delete(_trash, recursive: true); // deletions interrupted by a crash
        Directory.CreateDirectory(_trash);
        foreach (var dir in Directory.GetDirectories(_root))
        {
            var name = Path.GetFileName(dir);
            if (!IsValidName(name)) continue;
            var partitionDirs = Directory.GetDirectories(dir)
                .Select(d => int.TryParse(Path.GetFileName(d), out var p) ? p : -1).Where(p => p >= 0).OrderBy(p => p).ToList();
            if (partitionDirs.Count == 0) continue;
            var count = partitionDirs[^1] + 1; // a missing partition directory is recreated empty
            _topics[name] = new Topic(name, Enumerable.Range(0, count).Select(p => OpenPartition(name, p)).ToArray());
        }
    }

    private PartitionLog OpenPartition(string topic, int partition) =>
        PartitionLog.Open(Path.Combine(_root, topic, partition.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            partition, _options.SegmentBytes, _options.MaxProducersPerPartition, _options.MaxMessageBytes, _log);

    /// <summary>Kafka's topic-name rule: 1–249 chars of [a-zA-Z0-9._-], not "." or "..".</summary>
    public static bool IsValidName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 249 && name != "." && name != ".." &&
        name.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-');

    public Topic? Get(string name)
    {
        lock (_gate) return _topics.GetValueOrDefault(name);
    }

    public IReadOnlyList<Topic> All()
    {
        lock (_gate) return _topics.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
    }

    public short Create(string name, int partitions)
    {
        if (!IsValidName(name)) return ErrorCode.InvalidTopic;
        if (partitions <= 0 || partitions > _options.MaxPartitionsPerTopic) return ErrorCode.InvalidPartitions;
        lock (_gate)
        {
            if (_topics.ContainsKey(name)) return ErrorCode.TopicAlreadyExists;
            if (_topics.Count >= _options.MaxTopics) return ErrorCode.InvalidRequest;
            _topics[name] = new Topic(name, Enumerable.Range(0, partitions).Select(p => OpenPartition(name, p)).ToArray());
        }
        _log($"created topic {name} with {partitions} partitions");
        return ErrorCode.None;
    }

    /// <summary>Returns the topic, creating it with the default partition count if allowed.</summary>
    public Topic? GetOrAutoCreate(string name, bool allowAutoCreate)
    {
        var topic = Get(name);
        if (topic is not null || !allowAutoCreate || !_options.AutoCreateTopics) return topic;
        Create(name, _options.DefaultPartitions);
        return Get(name);
    }

    /// <summary>Grows a topic to <paramref name="count"/> partitions (CreatePartitions); shrinking is not allowed.</summary>
    public (short Error, string? Message) AddPartitions(string name, int count, bool validateOnly)
    {
        lock (_gate)
        {
            if (!_topics.TryGetValue(name, out var topic)) return (ErrorCode.UnknownTopicOrPartition, null);
            if (count <= topic.Partitions.Length) return (ErrorCode.InvalidPartitions, $"topic has {topic.Partitions.Length} partitions; the count can only grow");
            if (count > _options.MaxPartitionsPerTopic) return (ErrorCode.InvalidPartitions, $"at most {_options.MaxPartitionsPerTopic} partitions");
            if (validateOnly) return (ErrorCode.None, null);
            var added = Enumerable.Range(topic.Partitions.Length, count - topic.Partitions.Length).Select(p => OpenPartition(name, p));
            _topics[name] = topic with { Partitions = [.. topic.Partitions, .. added] };
        }
        _log($"topic {name} now has {count} partitions");
        return (ErrorCode.None, null);
    }

    public short Delete(string name)
    {
        string trashed;
        lock (_gate)
        {
            if (!_topics.Remove(name, out var topic)) return ErrorCode.UnknownTopicOrPartition;
            foreach (var p in topic.Partitions) p.Dispose();
            // Move the directory aside while still holding the lock, so a topic re-created under the same
            // name right away gets a fresh directory that the slow recursive delete below cannot touch.
            trashed = Path.Combine(_trash, Guid.NewGuid().ToString("N"));
            Directory.Move(Path.Combine(_root, name), trashed);
        }
        Directory.Delete(trashed, recursive: true);
        _log($"deleted topic {name}");
        return ErrorCode.None;
    }

    public void ApplyRetention()
    {
        var keepFrom = _options.Time.GetUtcNow().ToUnixTimeMilliseconds() - (long)_options.RetentionAge.TotalMilliseconds;
        foreach (var topic in All())
            foreach (var p in topic.Partitions)
            {
                try
                {
                    var removed = p.ApplyRetention(_options.RetentionBytes, keepFrom, _options.MaxBatchesPerPartition);
                    if (removed > 0) _log($"retention: removed {removed} segment(s) of {topic.Name}/{p.Partition}");
                }
                catch (ObjectDisposedException) { } // topic deleted meanwhile
            }
    }

    public void Dispose()
    {
        lock (_gate)
            foreach (var t in _topics.Values)
                foreach (var p in t.Partitions) p.Dispose();
    }
}

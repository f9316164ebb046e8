using DevKafka.Log;
using DevKafka.Protocol;

namespace DevKafka.Broker.Handlers;

public sealed partial class RequestHandlers
{
    private Task<byte[]?> Metadata(RequestHeader h, KafkaReader r)
    {
        var v = h.ApiVersion;
        var names = ReadNullableArray(r, r.String, 2);
        var allowAutoCreate = v < 4 || r.Bool();
        if (v >= 8) { r.Bool(); r.Bool(); }

        var found = new List<(string Name, Topic? Topic, short Error)>();
        if (names is null)
            found.AddRange(topics.All().Select(t => (t.Name, (Topic?)t, ErrorCode.None)));
        else
            foreach (var name in names.Distinct())
            {
                if (!TopicStore.IsValidName(name)) { found.Add((name, null, ErrorCode.InvalidTopic)); continue; }
                var topic = topics.GetOrAutoCreate(name, allowAutoCreate);
                found.Add((name, topic, topic is null ? ErrorCode.UnknownTopicOrPartition : ErrorCode.None));
            }

        var w = new KafkaWriter(h.CorrelationId, 512);
        if (v >= 3) w.Int32(0);
        w.Int32(1).Int32(NodeId).String(options.Host).Int32(options.Port).String(null);
        if (v >= 2) w.String(ClusterId);
        w.Int32(NodeId);
        WriteArray(w, found, t =>
        {
            w.Int16(t.Error).String(t.Name).Bool(false);
            var partitions = t.Topic?.Partitions ?? [];
            WriteArray(w, partitions, p =>
            {
                w.Int16(ErrorCode.None).Int32(p.Partition).Int32(NodeId);
                if (v >= 7) w.Int32(0);
                w.Int32(1).Int32(NodeId).Int32(1).Int32(NodeId);
                if (v >= 5) w.Int32(0);
            });
            if (v >= 8) w.Int32(int.MinValue);
        });
        if (v >= 8) w.Int32(int.MinValue);
        return Done(w);
    }

    private Task<byte[]?> CreateTopics(RequestHeader h, KafkaReader r)
    {
        var v = h.ApiVersion;
        var requests = ReadArray(r, () =>
        {
            var name = r.String();
            var partitions = r.Int32();
            var replication = r.Int16();
            var assignments = ReadArray(r, () => (r.Int32(), ReadArray(r, r.Int32, 4)), 8);
            ReadArray(r, () => (r.String(), r.NullableString()), 4);
            return (Name: name, Partitions: partitions, Replication: replication, Assignments: assignments);
        }, 12);
        r.Int32(); // timeout: creation is synchronous here
        var validateOnly = v >= 1 && r.Bool();

        var results = new List<(string Name, short Error, string? Message)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in requests)
        {
            var count = t.Assignments.Count > 0 ? t.Assignments.Count : t.Partitions == -1 ? options.DefaultPartitions : t.Partitions;
            short error;
            string? message = null;
            if (!seen.Add(t.Name)) (error, message) = (ErrorCode.InvalidRequest, "topic named twice in one request");
            else if (!TopicStore.IsValidName(t.Name)) (error, message) = (ErrorCode.InvalidTopic, "topic names are 1-249 chars of [a-zA-Z0-9._-]");
            else if (t.Replication is not (-1 or 1)) (error, message) = (ErrorCode.InvalidReplicationFactor, "devkafka is a single node: replication factor must be 1");
            else if (t.Assignments.Any(a => a.Item2.Any(b => b != NodeId))) (error, message) = (ErrorCode.InvalidRequest, "replicas must be broker 0");
            else if (count <= 0 || count > options.MaxPartitionsPerTopic) (error, message) = (ErrorCode.InvalidPartitions, $"partitions must be 1..{options.MaxPartitionsPerTopic}");
            else if (validateOnly) error = topics.Get(t.Name) is null ? ErrorCode.None : ErrorCode.TopicAlreadyExists;
            else error = topics.Create(t.Name, count);
            if (error == ErrorCode.TopicAlreadyExists) message ??= $"topic '{t.Name}' already exists";
            results.Add((t.Name, error, message));
        }
        var w = new KafkaWriter(h.CorrelationId);
        if (v >= 2) w.Int32(0);
        WriteArray(w, results, x =>
        {
            w.String(x.Name).Int16(x.Error);
            if (v >= 1) w.String(x.Message);
        });
        return Done(w);
    }

    private Task<byte[]?> DeleteTopics(RequestHeader h, KafkaReader r)
    {
        var names = ReadArray(r, r.String, 2);
        r.Int32();
        var results = names.Distinct().Select(name =>
        {
            var error = topics.Delete(name);
            if (error == ErrorCode.None) offsets.DeleteTopic(name);
            return (name, error);
        }).ToList();
        var w = new KafkaWriter(h.CorrelationId);
        if (h.ApiVersion >= 1) w.Int32(0);
        WriteArray(w, results, x => w.String(x.name).Int16(x.error));
        return Done(w);
    }

    private Task<byte[]?> CreatePartitions(RequestHeader h, KafkaReader r)
    {
        var requests = ReadArray(r, () =>
        {
            var name = r.String();
            var count = r.Int32();
            ReadNullableArray(r, () => ReadArray(r, r.Int32, 4), 4);
            return (Name: name, Count: count);
        }, 10);
        r.Int32(); // timeout
        var validateOnly = r.Bool();
        var results = requests.Select(t => (t.Name, Result: topics.AddPartitions(t.Name, t.Count, validateOnly))).ToList();
        var w = new KafkaWriter(h.CorrelationId).Int32(0);
        WriteArray(w, results, x => w.String(x.Name).Int16(x.Result.Error).String(x.Result.Message));
        return Done(w);
    }
}

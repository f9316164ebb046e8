using DevKafka.Groups;
using DevKafka.Log;
using DevKafka.Protocol;

namespace DevKafka.Broker.Handlers;

public sealed record RequestHeader(short ApiKey, short ApiVersion, int CorrelationId, string? ClientId, string ClientHost);

/// <summary>
/// One method per API. Each parses its whole request before acting, performs its state change synchronously
/// (so requests of one connection take effect in the order sent) and may then wait (fsync, long-poll, group
/// rebalance) before producing its response frame; null means "no response" (acks=0).
/// </summary>
public sealed partial class RequestHandlers(DevKafkaOptions options, TopicStore topics, GroupCoordinator groups,
    OffsetStore offsets, Action<string> log, CancellationToken stopping)
{
    public const int NodeId = 0;
    public const string ClusterId = "devkafka-local";
    // Producer ids must never repeat across restarts (the log keeps their sequence state), so they start
    // from the start-up time in microseconds rather than from a counter that would reset.
    private long _nextProducerId = options.Time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;

    private static Task<byte[]?> Done(KafkaWriter w) => Task.FromResult<byte[]?>(w.ToFrame());

    public Task<byte[]?> Handle(RequestHeader h, KafkaReader r)
    {
        if (h.ApiKey == ApiKey.ApiVersions) return ApiVersions(h, r);
        if (!ApiKey.IsSupported(h.ApiKey, h.ApiVersion))
        {
            // No body layout is known for an unsupported version: answer with just the error code.
            log($"unsupported api {h.ApiKey} v{h.ApiVersion} from {h.ClientHost} ({h.ClientId}); answering UNSUPPORTED_VERSION");
            return Done(new KafkaWriter(h.CorrelationId).Int16(ErrorCode.UnsupportedVersion));
        }
        return h.ApiKey switch
        {
            ApiKey.Produce => Produce(h, r),
            ApiKey.Fetch => Fetch(h, r),
            ApiKey.ListOffsets => ListOffsets(h, r),
            ApiKey.Metadata => Metadata(h, r),
            ApiKey.OffsetCommit => OffsetCommit(h, r),
            ApiKey.OffsetFetch => OffsetFetch(h, r),
            ApiKey.FindCoordinator => FindCoordinator(h, r),
            ApiKey.JoinGroup => JoinGroup(h, r),
            ApiKey.Heartbeat => Heartbeat(h, r),
            ApiKey.LeaveGroup => LeaveGroup(h, r),
            ApiKey.SyncGroup => SyncGroup(h, r),
            ApiKey.DescribeGroups => DescribeGroups(h, r),
            ApiKey.ListGroups => ListGroups(h, r),
            ApiKey.CreateTopics => CreateTopics(h, r),
            ApiKey.DeleteTopics => DeleteTopics(h, r),
            ApiKey.InitProducerId => InitProducerId(h, r),
            ApiKey.CreatePartitions => CreatePartitions(h, r),
            ApiKey.DeleteGroups => DeleteGroups(h, r),
            _ => throw new MalformedRequestException($"no handler for api {h.ApiKey}"),
        };
    }

    private static List<T> ReadArray<T>(KafkaReader r, Func<T> item, int minSize = 1)
    {
        var n = r.ArrayLength(minSize);
        var list = new List<T>(Math.Max(n, 0));
        for (var i = 0; i < n; i++) list.Add(item());
        return list;
    }

    private static List<T>? ReadNullableArray<T>(KafkaReader r, Func<T> item, int minSize = 1)
    {
        var n = r.ArrayLength(minSize);
        if (n < 0) return null;
        var list = new List<T>(n);
        for (var i = 0; i < n; i++) list.Add(item());
        return list;
    }

    private static void WriteArray<T>(KafkaWriter w, IReadOnlyCollection<T> items, Action<T> write)
    {
        w.Int32(items.Count);
        foreach (var item in items) write(item);
    }

    private Task<byte[]?> ApiVersions(RequestHeader h, KafkaReader r)
    {
        var w = new KafkaWriter(h.CorrelationId); // response header v0 even for v3 (KIP-511)
        if (h.ApiVersion > 3)
        {
            // Kafka answers a too-new ApiVersions in v0 layout so the client can retry with a version we know.
            w.Int16(ErrorCode.UnsupportedVersion);
            WriteArray(w, ApiKey.Supported, a => w.Int16(a.Key).Int16(a.Min).Int16(a.Max));
            return Done(w);
        }
        if (h.ApiVersion >= 3)
        {
            r.CompactNullableString(); // client_software_name
            r.CompactNullableString(); // client_software_version
            r.SkipTaggedFields();
            w.Int16(ErrorCode.None).UVarInt((uint)ApiKey.Supported.Count + 1);
            foreach (var (key, min, max) in ApiKey.Supported) w.Int16(key).Int16(min).Int16(max).EmptyTaggedFields();
            return Done(w.Int32(0).EmptyTaggedFields());
        }
        w.Int16(ErrorCode.None);
        WriteArray(w, ApiKey.Supported, a => w.Int16(a.Key).Int16(a.Min).Int16(a.Max));
        if (h.ApiVersion >= 1) w.Int32(0);
        return Done(w);
    }

    private Task<byte[]?> InitProducerId(RequestHeader h, KafkaReader r)
    {
        var transactionalId = r.NullableString();
        r.Int32(); // transaction timeout
        var w = new KafkaWriter(h.CorrelationId).Int32(0);
        if (transactionalId is not null) return Done(w.Int16(ErrorCode.InvalidRequest).Int64(-1).Int16(-1)); // no transactions here
        return Done(w.Int16(ErrorCode.None).Int64(Interlocked.Increment(ref _nextProducerId)).Int16(0));
    }

    private Task<byte[]?> FindCoordinator(RequestHeader h, KafkaReader r)
    {
        r.String();
        var keyType = h.ApiVersion >= 1 ? r.Int8() : (sbyte)0;
        var w = new KafkaWriter(h.CorrelationId);
        if (h.ApiVersion >= 1) w.Int32(0);
        var error = keyType == 0 ? ErrorCode.None : ErrorCode.CoordinatorNotAvailable;
        w.Int16(error);
        if (h.ApiVersion >= 1) w.String(error == ErrorCode.None ? null : "transactions are not supported by devkafka");
        return Done(w.Int32(error == ErrorCode.None ? NodeId : -1).String(options.Host).Int32(options.Port));
    }
}

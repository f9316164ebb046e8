using DevKafka.Groups;
using DevKafka.Protocol;

namespace DevKafka.Broker.Handlers;

public sealed partial class RequestHandlers
{
    private async Task<byte[]?> JoinGroup(RequestHeader h, KafkaReader r)
    {
        var v = h.ApiVersion;
        var groupId = r.String();
        var sessionTimeout = r.Int32();
        var rebalanceTimeout = v >= 1 ? r.Int32() : sessionTimeout;
        var memberId = r.String();
        var instanceId = v >= 5 ? r.NullableString() : null;
        var protocolType = r.String();
        var protocols = ReadArray(r, () => (r.String(), r.Bytes().ToArray()), 6);

        var result = await groups.Join(groupId, memberId, instanceId, sessionTimeout, rebalanceTimeout, protocolType, protocols, v,
            h.ClientId ?? "", h.ClientHost).WaitAsync(stopping).ConfigureAwait(false);
        var w = new KafkaWriter(h.CorrelationId);
        if (v >= 2) w.Int32(0);
        w.Int16(result.Error).Int32(result.Generation).String(result.ProtocolName).String(result.Leader).String(result.MemberId);
        WriteArray(w, result.Members, m =>
        {
            w.String(m.MemberId);
            if (v >= 5) w.String(m.InstanceId);
            w.Bytes(m.Metadata);
        });
        return w.ToFrame();
    }

    private async Task<byte[]?> SyncGroup(RequestHeader h, KafkaReader r)
    {
        var v = h.ApiVersion;
        var groupId = r.String();
        var generation = r.Int32();
        var memberId = r.String();
        if (v >= 3) r.NullableString();
        var assignments = ReadArray(r, () => (r.String(), r.Bytes().ToArray()), 6);

        var result = await groups.Sync(groupId, generation, memberId, assignments).WaitAsync(stopping).ConfigureAwait(false);
        var w = new KafkaWriter(h.CorrelationId);
        if (v >= 1) w.Int32(0);
        return w.Int16(result.Error).Bytes(result.Assignment).ToFrame();
    }

    private Task<byte[]?> Heartbeat(RequestHeader h, KafkaReader r)
    {
        var groupId = r.String();
        var generation = r.Int32();
        var memberId = r.String();
        if (h.ApiVersion >= 3) r.NullableString();
        var error = groups.Heartbeat(groupId, generation, memberId);
        var w = new KafkaWriter(h.CorrelationId);
        if (h.ApiVersion >= 1) w.Int32(0);
        return Done(w.Int16(error));
    }

    private Task<byte[]?> LeaveGroup(RequestHeader h, KafkaReader r)
    {
        var error = groups.Leave(r.String(), r.String());
        var w = new KafkaWriter(h.CorrelationId);
        if (h.ApiVersion >= 1) w.Int32(0);
        return Done(w.Int16(error));
    }

    private Task<byte[]?> OffsetCommit(RequestHeader h, KafkaReader r)
    {
        var v = h.ApiVersion;
        var groupId = r.String();
        var generation = r.Int32();
        var memberId = r.String();
        if (v >= 7) r.NullableString();
        if (v is >= 2 and <= 4) r.Int64(); // retention: offsets are kept until the topic is deleted
        var request = ReadArray(r, () => (Topic: r.String(), Partitions: ReadArray(r, () =>
        {
            var index = r.Int32();
            var offset = r.Int64();
            var epoch = v >= 6 ? r.Int32() : -1;
            return (Index: index, Offset: new CommittedOffset(offset, epoch, r.NullableString()));
        }, 14)), 6);

        var groupError = string.IsNullOrEmpty(groupId) ? ErrorCode.InvalidGroupId : groups.CheckCommit(groupId, generation, memberId);
        if (groupError != ErrorCode.None) log($"group {groupId}: commit by {memberId} (generation {generation}) rejected with error {groupError}");
        var results = request.Select(t =>
        {
            var topic = topics.Get(t.Topic);
            return (t.Topic, Partitions: t.Partitions.Select(p => (p.Index, p.Offset,
                Error: groupError != ErrorCode.None ? groupError
                    : topic is null || p.Index < 0 || p.Index >= topic.Partitions.Length ? ErrorCode.UnknownTopicOrPartition
                    : ErrorCode.None)).ToList());
        }).ToList();
        offsets.Commit(groupId, results.SelectMany(t => t.Partitions.Where(p => p.Error == ErrorCode.None).Select(p => (t.Topic, p.Index, p.Offset))).ToList());

        var w = new KafkaWriter(h.CorrelationId);
        if (v >= 3) w.Int32(0);
        WriteArray(w, results, t =>
        {
            w.String(t.Topic);
            WriteArray(w, t.Partitions, p => w.Int32(p.Index).Int16(p.Error));
        });
        return Done(w);
    }

    private Task<byte[]?> OffsetFetch(RequestHeader h, KafkaReader r)
    {
        var v = h.ApiVersion;
        var groupId = r.String();
        var request = ReadNullableArray(r, () => (Topic: r.String(), Partitions: ReadArray(r, r.Int32, 4)), 6);
        var wanted = request?.Select(t => (t.Topic, Partitions: t.Partitions.Select(p => (p, offsets.Get(groupId, t.Topic, p))).ToList())).ToList()
            ?? offsets.ForGroup(groupId).GroupBy(o => o.Topic)
                .Select(g => (g.Key, g.Select(o => (o.Partition, (CommittedOffset?)o.Offset)).ToList())).ToList();

        var w = new KafkaWriter(h.CorrelationId);
        if (v >= 3) w.Int32(0);
        WriteArray(w, wanted, t =>
        {
            w.String(t.Item1);
            WriteArray(w, t.Item2, p =>
            {
                w.Int32(p.Item1).Int64(p.Item2?.Offset ?? -1);
                if (v >= 5) w.Int32(p.Item2?.LeaderEpoch ?? -1);
                w.String(p.Item2?.Metadata ?? "").Int16(ErrorCode.None);
            });
        });
        if (v >= 2) w.Int16(ErrorCode.None);
        return Done(w);
    }

    private Task<byte[]?> DescribeGroups(RequestHeader h, KafkaReader r)
    {
        var v = h.ApiVersion;
        var ids = ReadArray(r, r.String, 2);
        if (v >= 3) r.Bool();
        var w = new KafkaWriter(h.CorrelationId);
        if (v >= 1) w.Int32(0);
        WriteArray(w, ids, id =>
        {
            var d = groups.Describe(id);
            w.Int16(ErrorCode.None).String(id).String(d?.State ?? "Dead").String(d?.ProtocolType ?? "").String(d?.Protocol ?? "");
            WriteArray(w, d?.Members ?? [], m =>
            {
                w.String(m.MemberId);
                if (v >= 4) w.String(m.InstanceId);
                w.String(m.ClientId).String(m.ClientHost).Bytes(m.Metadata).Bytes(m.Assignment);
            });
            if (v >= 3) w.Int32(int.MinValue);
        });
        return Done(w);
    }

    private Task<byte[]?> ListGroups(RequestHeader h, KafkaReader r)
    {
        var w = new KafkaWriter(h.CorrelationId);
        if (h.ApiVersion >= 1) w.Int32(0);
        w.Int16(ErrorCode.None);
        WriteArray(w, groups.List(), g => w.String(g.Id).String(g.ProtocolType));
        return Done(w);
    }

    private Task<byte[]?> DeleteGroups(RequestHeader h, KafkaReader r)
    {
        var ids = ReadArray(r, r.String, 2);
        var w = new KafkaWriter(h.CorrelationId).Int32(0);
        WriteArray(w, ids.Distinct().Select(id => (id, groups.Delete(id))).ToList(), x => w.String(x.id).Int16(x.Item2));
        return Done(w);
    }
}

using DevKafka.Broker;
using DevKafka.Protocol;

namespace DevKafka.Groups;

/// <summary>
/// The classic group coordinator (Empty → PreparingRebalance → CompletingRebalance → Stable). Member metadata
/// and assignments are opaque; the client-side leader assigns. All state changes happen under one lock;
/// parked Join/Sync responses are completed from here, and <see cref="Tick"/> enforces session and
/// rebalance timeouts.
/// </summary>
public sealed class GroupCoordinator(DevKafkaOptions options, OffsetStore offsets, Action<string> log)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, ConsumerGroup> _groups = new(StringComparer.Ordinal);

    private long Now => options.Time.GetUtcNow().ToUnixTimeMilliseconds();
    private static TaskCompletionSource<T> Waiter<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);
    private static JoinResult JoinError(short error, string memberId = "") => new(error, -1, "", "", memberId, []);

    public Task<JoinResult> Join(string groupId, string memberId, string? instanceId, int sessionTimeoutMs, int rebalanceTimeoutMs,
        string protocolType, List<(string Name, byte[] Metadata)> protocols, short version, string clientId, string clientHost)
    {
        if (string.IsNullOrEmpty(groupId)) return Task.FromResult(JoinError(ErrorCode.InvalidGroupId));
        if (sessionTimeoutMs < options.MinSessionTimeoutMs || sessionTimeoutMs > options.MaxSessionTimeoutMs)
            return Task.FromResult(JoinError(ErrorCode.InvalidSessionTimeout));
        if (protocols.Count == 0 || string.IsNullOrEmpty(protocolType)) return Task.FromResult(JoinError(ErrorCode.InconsistentGroupProtocol));
        lock (_gate)
        {
            if (!_groups.TryGetValue(groupId, out var group))
            {
                if (_groups.Count >= options.MaxGroups) return Task.FromResult(JoinError(ErrorCode.CoordinatorNotAvailable));
                group = new ConsumerGroup(groupId);
                _groups[groupId] = group;
            }
            if (group.Members.Count > 0 && (group.ProtocolType != protocolType ||
                !group.Members.Values.Where(m => m.Id != memberId).All(m => m.Protocols.Any(p => protocols.Any(q => q.Name == p.Name)))))
                return Task.FromResult(JoinError(ErrorCode.InconsistentGroupProtocol));

            var now = Now;
            if (memberId.Length == 0)
            {
                if (group.Members.Count + group.Pending.Count >= options.MaxMembersPerGroup)
                    return Task.FromResult(JoinError(ErrorCode.CoordinatorNotAvailable));
                memberId = $"{(clientId.Length > 200 ? clientId[..200] : clientId)}-{Guid.NewGuid():N}";
                if (version >= 4)
                {
                    // KIP-394: hand out the id and let the client rejoin with it.
                    group.Pending[memberId] = now + sessionTimeoutMs;
                    return Task.FromResult(JoinError(ErrorCode.MemberIdRequired, memberId));
                }
            }
            else if (!group.Members.ContainsKey(memberId) && !group.Pending.Remove(memberId))
            {
                return Task.FromResult(JoinError(ErrorCode.UnknownMemberId, memberId));
            }

            if (!group.Members.TryGetValue(memberId, out var member))
            {
                member = new GroupMember(memberId);
                group.Members[memberId] = member;
            }
            member.InstanceId = instanceId;
            member.ClientId = clientId;
            member.ClientHost = clientHost;
            member.SessionTimeoutMs = sessionTimeoutMs;
            member.RebalanceTimeoutMs = Math.Min(rebalanceTimeoutMs > 0 ? rebalanceTimeoutMs : sessionTimeoutMs, options.MaxRebalanceTimeoutMs);
            member.Protocols = protocols;
            member.SessionDeadline = now + sessionTimeoutMs;
            group.ProtocolType = protocolType;
            member.JoinWaiter?.TrySetResult(JoinError(ErrorCode.UnknownMemberId, memberId)); // superseded by this join
            var waiter = Waiter<JoinResult>();
            member.JoinWaiter = waiter;
            PrepareRebalance(group, now, $"member {memberId} joined");
            TryCompleteJoin(group, now, deadlinePassed: false);
            return waiter.Task;
        }
    }

    private void PrepareRebalance(ConsumerGroup group, long now, string reason)
    {
        if (group.State == GroupState.PreparingRebalance) return;
        foreach (var m in group.Members.Values)
        {
            // Parked syncs of the previous generation must rejoin.
            m.SyncWaiter?.TrySetResult(new SyncResult(ErrorCode.RebalanceInProgress, []));
            m.SyncWaiter = null;
        }
        if (group.State == GroupState.Empty) group.JoinNotBefore = now + options.InitialRebalanceDelayMs;
        group.State = GroupState.PreparingRebalance;
        var timeout = group.Members.Values.Select(m => m.RebalanceTimeoutMs).DefaultIfEmpty(0).Max();
        group.RebalanceDeadline = now + Math.Max(timeout, 1);
        log($"group {group.Id}: preparing rebalance ({reason})");
    }

    private void TryCompleteJoin(ConsumerGroup group, long now, bool deadlinePassed)
    {
        if (group.State != GroupState.PreparingRebalance) return;
        var allJoined = group.Members.Values.All(m => m.JoinWaiter is not null) && group.Pending.Count == 0;
        if (!deadlinePassed && (!allJoined || now < group.JoinNotBefore)) return;

        foreach (var late in group.Members.Values.Where(m => m.JoinWaiter is null).ToList())
        {
            group.Members.Remove(late.Id);
            log($"group {group.Id}: removed {late.Id} (did not rejoin within the rebalance timeout)");
        }
        group.Pending.Clear();
        group.Generation++;
        if (group.Members.Count == 0)
        {
            group.State = GroupState.Empty;
            group.LeaderId = null;
            group.ProtocolName = null;
            return;
        }
        var candidates = group.Members.Values.First().Protocols.Select(p => p.Name)
            .Where(name => group.Members.Values.All(m => m.Protocols.Any(p => p.Name == name))).ToList();
        if (candidates.Count == 0)
        {
            foreach (var m in group.Members.Values) m.JoinWaiter!.TrySetResult(JoinError(ErrorCode.InconsistentGroupProtocol, m.Id));
            group.Members.Clear();
            group.State = GroupState.Empty;
            return;
        }
        // Each member votes for its most preferred candidate; the most votes wins.
        group.ProtocolName = group.Members.Values
            .Select(m => m.Protocols.First(p => candidates.Contains(p.Name)).Name)
            .GroupBy(n => n).OrderByDescending(g => g.Count()).ThenBy(g => candidates.IndexOf(g.Key)).First().Key;
        if (group.LeaderId is null || !group.Members.ContainsKey(group.LeaderId)) group.LeaderId = group.Members.Keys.First();
        var memberList = group.Members.Values
            .Select(m => (m.Id, m.InstanceId, m.Protocols.First(p => p.Name == group.ProtocolName).Metadata)).ToList();
        group.State = GroupState.CompletingRebalance;
        group.SyncDeadline = now + group.Members.Values.Max(m => m.RebalanceTimeoutMs);
        foreach (var m in group.Members.Values)
        {
            m.Assignment = [];
            m.SessionDeadline = now + m.SessionTimeoutMs;
            var isLeader = m.Id == group.LeaderId;
            m.JoinWaiter!.TrySetResult(new JoinResult(ErrorCode.None, group.Generation, group.ProtocolName, group.LeaderId, m.Id,
                isLeader ? memberList : []));
            m.JoinWaiter = null;
        }
        log($"group {group.Id}: generation {group.Generation} with {group.Members.Count} member(s), protocol {group.ProtocolName}");
    }

    public Task<SyncResult> Sync(string groupId, int generation, string memberId, List<(string MemberId, byte[] Assignment)> assignments)
    {
        lock (_gate)
        {
            if (!_groups.TryGetValue(groupId, out var group) || !group.Members.TryGetValue(memberId, out var member))
                return Task.FromResult(new SyncResult(ErrorCode.UnknownMemberId, []));
            if (generation != group.Generation) return Task.FromResult(new SyncResult(ErrorCode.IllegalGeneration, []));
            member.SessionDeadline = Now + member.SessionTimeoutMs;
            switch (group.State)
            {
                case GroupState.PreparingRebalance:
                    return Task.FromResult(new SyncResult(ErrorCode.RebalanceInProgress, []));
                case GroupState.Stable:
                    return Task.FromResult(new SyncResult(ErrorCode.None, member.Assignment));
                case GroupState.CompletingRebalance:
                    var waiter = Waiter<SyncResult>();
                    member.SyncWaiter?.TrySetResult(new SyncResult(ErrorCode.RebalanceInProgress, []));
                    member.SyncWaiter = waiter;
                    if (memberId == group.LeaderId)
                    {
                        foreach (var (target, assignment) in assignments)
                            if (group.Members.TryGetValue(target, out var m)) m.Assignment = assignment;
                        group.State = GroupState.Stable;
                        foreach (var m in group.Members.Values)
                        {
                            m.SyncWaiter?.TrySetResult(new SyncResult(ErrorCode.None, m.Assignment));
                            m.SyncWaiter = null;
                        }
                        log($"group {group.Id}: generation {group.Generation} stable");
                    }
                    return waiter.Task;
                default:
                    return Task.FromResult(new SyncResult(ErrorCode.UnknownMemberId, []));
            }
        }
    }

    public short Heartbeat(string groupId, int generation, string memberId)
    {
        lock (_gate)
        {
            if (!_groups.TryGetValue(groupId, out var group) || !group.Members.TryGetValue(memberId, out var member))
                return ErrorCode.UnknownMemberId;
            if (generation != group.Generation) return ErrorCode.IllegalGeneration;
            member.SessionDeadline = Now + member.SessionTimeoutMs;
            return group.State == GroupState.PreparingRebalance ? ErrorCode.RebalanceInProgress : ErrorCode.None;
        }
    }

    public short Leave(string groupId, string memberId)
    {
        lock (_gate)
        {
            if (!_groups.TryGetValue(groupId, out var group)) return ErrorCode.UnknownMemberId;
            if (group.Pending.Remove(memberId)) return ErrorCode.None;
            if (!group.Members.ContainsKey(memberId)) return ErrorCode.UnknownMemberId;
            RemoveMember(group, memberId, "left the group", Now);
            return ErrorCode.None;
        }
    }

    private void RemoveMember(ConsumerGroup group, string memberId, string reason, long now)
    {
        if (!group.Members.Remove(memberId, out var member)) return;
        member.JoinWaiter?.TrySetResult(JoinError(ErrorCode.UnknownMemberId, memberId));
        member.SyncWaiter?.TrySetResult(new SyncResult(ErrorCode.UnknownMemberId, []));
        log($"group {group.Id}: member {memberId} {reason}");
        if (group.Members.Count == 0 && group.State != GroupState.PreparingRebalance)
        {
            group.State = GroupState.Empty;
            group.Generation++;
            group.LeaderId = null;
            return;
        }
        PrepareRebalance(group, now, $"member {memberId} {reason}");
        TryCompleteJoin(group, now, deadlinePassed: false);
    }

    /// <summary>Validates a commit against the group; the offsets themselves go to the <see cref="OffsetStore"/>.</summary>
    public short CheckCommit(string groupId, int generation, string memberId)
    {
        lock (_gate)
        {
            if (!_groups.TryGetValue(groupId, out var group) || group.State == GroupState.Empty)
                return generation < 0 ? ErrorCode.None : ErrorCode.UnknownMemberId; // "simple" commits without membership
            if (generation < 0 && memberId.Length == 0) return ErrorCode.None;
            if (!group.Members.TryGetValue(memberId, out var member)) return ErrorCode.UnknownMemberId;
            if (generation != group.Generation) return ErrorCode.IllegalGeneration;
            if (group.State == GroupState.CompletingRebalance) return ErrorCode.RebalanceInProgress;
            member.SessionDeadline = Now + member.SessionTimeoutMs;
            return ErrorCode.None;
        }
    }

    /// <summary>Expires silent members and overdue rebalances; called periodically by the broker.</summary>
    public void Tick()
    {
        lock (_gate)
        {
            var now = Now;
            foreach (var group in _groups.Values)
            {
                foreach (var (id, deadline) in group.Pending.ToList())
                    if (deadline < now) group.Pending.Remove(id);
                foreach (var m in group.Members.Values.ToList())
                    if (m.JoinWaiter is null && m.SyncWaiter is null && m.SessionDeadline < now) // parked members wait on us, not the reverse
                        RemoveMember(group, m.Id, "expired (session timeout)", now);
                if (group.State == GroupState.PreparingRebalance)
                    TryCompleteJoin(group, now, deadlinePassed: now >= group.RebalanceDeadline);
                if (group.State == GroupState.CompletingRebalance && now >= group.SyncDeadline)
                {
                    // The leader never sent its assignment: drop whoever did not sync and start over.
                    foreach (var m in group.Members.Values.Where(m => m.SyncWaiter is null).ToList())
                        RemoveMember(group, m.Id, "did not sync in time", now);
                    if (group.State == GroupState.CompletingRebalance) PrepareRebalance(group, now, "sync timeout");
                }
            }
            foreach (var empty in _groups.Values.Where(g => g.State == GroupState.Empty && g.Members.Count == 0 && g.Pending.Count == 0 && !offsets.HasGroup(g.Id)).Select(g => g.Id).ToList())
                _groups.Remove(empty);
        }
    }

    public sealed record GroupDescription(string Id, string State, string ProtocolType, string Protocol,
        IReadOnlyList<(string MemberId, string? InstanceId, string ClientId, string ClientHost, byte[] Metadata, byte[] Assignment)> Members);

    public GroupDescription? Describe(string groupId)
    {
        lock (_gate)
        {
            if (!_groups.TryGetValue(groupId, out var g)) return offsets.HasGroup(groupId) ? new GroupDescription(groupId, "Empty", "consumer", "", []) : null;
            var state = g.State switch
            {
                GroupState.PreparingRebalance => "PreparingRebalance",
                GroupState.CompletingRebalance => "CompletingRebalance",
                GroupState.Stable => "Stable",
                _ => "Empty",
            };
            return new GroupDescription(g.Id, state, g.ProtocolType ?? "", g.ProtocolName ?? "",
                g.Members.Values.Select(m => (m.Id, m.InstanceId, m.ClientId, m.ClientHost,
                    g.ProtocolName is null ? [] : m.Protocols.FirstOrDefault(p => p.Name == g.ProtocolName).Metadata ?? [], m.Assignment)).ToList());
        }
    }

    public IReadOnlyList<(string Id, string ProtocolType)> List()
    {
        lock (_gate)
        {
            var live = _groups.Values.Select(g => (g.Id, g.ProtocolType ?? "consumer")).ToList();
            return live.Concat(offsets.Groups().Where(id => !_groups.ContainsKey(id)).Select(id => (id, "consumer"))).ToList();
        }
    }

    /// <summary>Deletes an empty group and its committed offsets (DeleteGroups).</summary>
    public short Delete(string groupId)
    {
        lock (_gate)
        {
            var live = _groups.TryGetValue(groupId, out var group);
            if (live && (group!.Members.Count > 0 || group.Pending.Count > 0)) return ErrorCode.NonEmptyGroup;
            if (!live && !offsets.HasGroup(groupId)) return ErrorCode.GroupIdNotFound;
            _groups.Remove(groupId);
            offsets.DeleteGroup(groupId);
            log($"group {groupId}: deleted");
            return ErrorCode.None;
        }
    }

    /// <summary>Fails every parked request so clients reconnect elsewhere (broker shutdown).</summary>
    public void Shutdown()
    {
        lock (_gate)
            foreach (var m in _groups.Values.SelectMany(g => g.Members.Values))
            {
                m.JoinWaiter?.TrySetResult(JoinError(ErrorCode.CoordinatorNotAvailable, m.Id));
                m.SyncWaiter?.TrySetResult(new SyncResult(ErrorCode.CoordinatorNotAvailable, []));
            }
    }
}

namespace DevKafka.Groups;

public enum GroupState { Empty, PreparingRebalance, CompletingRebalance, Stable }

public sealed record JoinResult(short Error, int Generation, string ProtocolName, string Leader, string MemberId,
    IReadOnlyList<(string MemberId, string? InstanceId, byte[] Metadata)> Members);

public sealed record SyncResult(short Error, byte[] Assignment);

public sealed class GroupMember(string id)
{
    public string Id { get; } = id;
    public string? InstanceId { get; set; }
    public string ClientId { get; set; } = "";
    public string ClientHost { get; set; } = "";
    public int SessionTimeoutMs { get; set; }
    public int RebalanceTimeoutMs { get; set; }
    public List<(string Name, byte[] Metadata)> Protocols { get; set; } = new();
    public byte[] Assignment { get; set; } = [];
    public long SessionDeadline { get; set; }
    public TaskCompletionSource<JoinResult>? JoinWaiter { get; set; }
    public TaskCompletionSource<SyncResult>? SyncWaiter { get; set; }
}

/// <summary>One classic consumer group: members, generation and the parked Join/Sync responses.</summary>
public sealed class ConsumerGroup(string id)
{
    public string Id { get; } = id;
    public GroupState State { get; set; } = GroupState.Empty;
    public string? ProtocolType { get; set; }
    public string? ProtocolName { get; set; }
    public int Generation { get; set; }
    public string? LeaderId { get; set; }
    public Dictionary<string, GroupMember> Members { get; } = new(StringComparer.Ordinal);
    /// <summary>Member ids handed out with MEMBER_ID_REQUIRED, waiting for the rejoin, with their expiry.</summary>
    public Dictionary<string, long> Pending { get; } = new(StringComparer.Ordinal);
    public long RebalanceDeadline { get; set; }
    public long JoinNotBefore { get; set; }
    public long SyncDeadline { get; set; }
}

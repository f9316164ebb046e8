namespace DevKafka.Protocol;

/// <summary>The APIs this broker implements and the (non-flexible, except ApiVersions v3) versions it advertises.</summary>
public static class ApiKey
{
    public const short Produce = 0, Fetch = 1, ListOffsets = 2, Metadata = 3, OffsetCommit = 8, OffsetFetch = 9,
        FindCoordinator = 10, JoinGroup = 11, Heartbeat = 12, LeaveGroup = 13, SyncGroup = 14, DescribeGroups = 15,
        ListGroups = 16, ApiVersions = 18, CreateTopics = 19, DeleteTopics = 20, InitProducerId = 22,
        CreatePartitions = 37, DeleteGroups = 42;

    /// <summary>Versions advertised in ApiVersions. Raising a max into a flexible version needs compact codecs first.</summary>
    public static readonly IReadOnlyList<(short Key, short Min, short Max)> Supported =
    [
        (Produce, 3, 8), (Fetch, 4, 11), (ListOffsets, 1, 5), (Metadata, 1, 8), (OffsetCommit, 2, 7), (OffsetFetch, 1, 5),
        (FindCoordinator, 0, 2), (JoinGroup, 0, 5), (Heartbeat, 0, 3), (LeaveGroup, 0, 1), (SyncGroup, 0, 3),
        (DescribeGroups, 0, 4), (ListGroups, 0, 2), (ApiVersions, 0, 3), (CreateTopics, 0, 4), (DeleteTopics, 0, 3),
        (InitProducerId, 0, 1), (CreatePartitions, 0, 1), (DeleteGroups, 0, 1),
    ];

    public static bool IsSupported(short key, short version)
    {
        foreach (var (k, min, max) in Supported)
            if (k == key) return version >= min && version <= max;
        return false;
    }
}

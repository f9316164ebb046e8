using DevKafka.Broker;
using DevKafka.Groups;
using DevKafka.Protocol;
using Xunit;

namespace DevKafka.Tests;

/// <summary>The coordinator's state machine driven with a manual clock: timeouts without waiting for them.</summary>
public sealed class GroupCoordinatorTests : IDisposable
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch.AddDays(20_000);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private const string Group = "accounting";
    private readonly ManualClock _clock = new();
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "payrail-groups-" + Guid.NewGuid().ToString("N"));
    private readonly OffsetStore _offsets;
    private readonly GroupCoordinator _groups;

    public GroupCoordinatorTests()
    {
        _offsets = new OffsetStore(_dir, _ => { });
        _groups = new GroupCoordinator(new DevKafkaOptions { Time = _clock, MinSessionTimeoutMs = 1000 }, _offsets, _ => { });
    }

    public void Dispose()
    {
        _offsets.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private Task<JoinResult> Join(string memberId, int sessionMs = 3000, int rebalanceMs = 10_000) =>
        _groups.Join(Group, memberId, null, sessionMs, rebalanceMs, "consumer", [("range", [1])], 5, "client", "host");

    private async Task<string> NewMemberId()
    {
        var first = await Join("");
        Assert.Equal(ErrorCode.MemberIdRequired, first.Error);
        return first.MemberId;
    }

    private void Advance(int ms)
    {
        _clock.Now = _clock.Now.AddMilliseconds(ms);
        _groups.Tick();
    }

    /// <summary>Two members in a stable generation; returns (leader, follower, generation).</summary>
    private async Task<(string Leader, string Follower, int Generation)> StableGroupOfTwo()
    {
        var a = await NewMemberId();
        var b = await NewMemberId();
        var joinA = Join(a);
        var joinB = Join(b);
        var (ra, rb) = (await joinA, await joinB);
        Assert.Equal(ra.Generation, rb.Generation);
        var leader = ra.Leader;
        var follower = leader == a ? b : a;
        var followerSync = _groups.Sync(Group, ra.Generation, follower, []);
        Assert.False(followerSync.IsCompleted); // parked until the leader assigns
        var leaderSync = await _groups.Sync(Group, ra.Generation, leader, [(leader, [1]), (follower, [2])]);
        Assert.Equal([1], leaderSync.Assignment);
        Assert.Equal([2], (await followerSync).Assignment);
        return (leader, follower, ra.Generation);
    }

    [Fact]
    public async Task A_new_member_must_rejoin_with_the_id_it_was_given_and_unknown_ids_are_refused()
    {
        var id = await NewMemberId();
        Assert.Equal(ErrorCode.UnknownMemberId, (await Join("someone-else")).Error);
        var joined = await Join(id);
        Assert.Equal(ErrorCode.None, joined.Error);
        Assert.Equal(1, joined.Generation);
        Assert.Equal(id, joined.Leader);
        Assert.Equal("range", joined.ProtocolName);
    }

    [Fact]
    public async Task A_silent_member_is_evicted_after_its_session_timeout_and_the_survivor_rebalances_alone()
    {
        var (leader, follower, generation) = await StableGroupOfTwo();
        Advance(2000);
        Assert.Equal(ErrorCode.None, _groups.Heartbeat(Group, generation, leader)); // only the leader heartbeats
        Advance(2000); // follower silent for 4 s > 3 s session
        Assert.Equal(ErrorCode.UnknownMemberId, _groups.Heartbeat(Group, generation, follower));
        Assert.Equal(ErrorCode.RebalanceInProgress, _groups.Heartbeat(Group, generation, leader));

        var rejoined = await Join(leader);
        Assert.Equal(generation + 1, rejoined.Generation);
        Assert.Equal(leader, Assert.Single(rejoined.Members).MemberId);
    }

    [Fact]
    public async Task A_member_that_keeps_heartbeating_but_never_rejoins_is_dropped_at_the_rebalance_timeout()
    {
        var (leader, follower, generation) = await StableGroupOfTwo();
        var leaderJoin = Join(leader); // a rebalance starts
        for (var elapsed = 0; elapsed < 10_000; elapsed += 1000)
        {
            Assert.False(leaderJoin.IsCompleted);
            Assert.Equal(ErrorCode.RebalanceInProgress, _groups.Heartbeat(Group, generation, follower));
            Advance(1000);
        }
        Advance(100);
        var result = await leaderJoin;
        Assert.Equal(ErrorCode.None, result.Error);
        Assert.Equal(leader, Assert.Single(result.Members).MemberId);
        Assert.Equal(ErrorCode.UnknownMemberId, _groups.Heartbeat(Group, result.Generation, follower));
    }

    [Fact]
    public async Task A_stale_generation_cannot_commit_or_heartbeat()
    {
        var (leader, _, generation) = await StableGroupOfTwo();
        Assert.Equal(ErrorCode.IllegalGeneration, _groups.CheckCommit(Group, generation - 1, leader));
        Assert.Equal(ErrorCode.IllegalGeneration, _groups.Heartbeat(Group, generation + 1, leader));
        Assert.Equal(ErrorCode.None, _groups.CheckCommit(Group, generation, leader));
    }

    [Fact]
    public void Committed_offsets_survive_reopening_the_store()
    {
        _offsets.Commit(Group, [("payments.v1", 3, new CommittedOffset(42, 0, "relay"))]);
        _offsets.Dispose();
        using var reopened = new OffsetStore(_dir, _ => { });
        Assert.Equal(new CommittedOffset(42, 0, "relay"), reopened.Get(Group, "payments.v1", 3));
    }
}

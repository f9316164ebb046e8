using Payrail.Testing;
using Xunit;

namespace DevKafka.Tests;

public sealed class ConsumerGroupTests(DevKafkaFixture kafka) : IClassFixture<DevKafkaFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Three_members_share_six_partitions_and_survivors_take_over_from_a_killed_member()
    {
        var topic = KafkaClients.Unique("ledger");
        var group = KafkaClients.Unique("settlement");
        await KafkaClients.CreateTopicAsync(kafka.BootstrapServers, topic, 6);
        var members = Enumerable.Range(0, 3).Select(i => new GroupMember(kafka.BootstrapServers, group, topic, $"member-{i}")).ToList();
        try
        {
            await Eventually.TrueAsync(() => members.All(m => m.Assignment.Count == 2), Deadline, "each of 3 members owns 2 of 6 partitions");
            Produce.Values(kafka.BootstrapServers, topic, 0, 600);
            await Eventually.TrueAsync(() => members.SelectMany(m => m.Received).Distinct().Count() == 600, Deadline, "first 600 consumed by the group");
            Assert.All(members, m => Assert.NotEmpty(m.Received)); // the work is shared

            var victim = members[0];
            victim.Kill();
            var survivors = members.Skip(1).ToList();
            Produce.Values(kafka.BootstrapServers, topic, 600, 1200);
            await Eventually.TrueAsync(() => survivors.Sum(m => m.Assignment.Count) == 6, Deadline, "survivors own all 6 partitions");
            await Eventually.TrueAsync(() => survivors.SelectMany(m => m.Received).Where(v => v >= 600).Distinct().Count() == 600,
                Deadline, "survivors consumed everything produced after the kill");
            Assert.Contains(kafka.LogLines, l => l.Contains("expired (session timeout)", StringComparison.Ordinal));

            await Eventually.TrueAsync(() => CommittedOffsets.CaughtUp(kafka.BootstrapServers, group, topic, 6), Deadline,
                "survivors committed everything they consumed");
            foreach (var s in survivors) s.Close();
            Produce.Values(kafka.BootstrapServers, topic, 1200, 1300);
            using var successor = new GroupMember(kafka.BootstrapServers, group, topic, "successor");
            await Eventually.TrueAsync(() => successor.Received.Count >= 100, Deadline, "successor consumed the 100 new messages");
            // Committed offsets are respected: nothing older than what the survivors had committed comes back.
            Assert.Equal(Enumerable.Range(1200, 100), successor.Received.Order());
            successor.Close();
        }
        finally
        {
            foreach (var m in members) m.Dispose();
        }
    }
}

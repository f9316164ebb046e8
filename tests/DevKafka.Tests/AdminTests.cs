using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Payrail.Testing;
using Xunit;

namespace DevKafka.Tests;

public sealed class AdminTests(DevKafkaFixture kafka) : IClassFixture<DevKafkaFixture>
{
    private IAdminClient Admin() =>
        new AdminClientBuilder(new AdminClientConfig { BootstrapServers = kafka.BootstrapServers, BrokerAddressFamily = BrokerAddressFamily.V4 }).Build();

    [Fact]
    public async Task Topics_can_be_created_listed_and_deleted()
    {
        using var admin = Admin();
        var refunds = KafkaClients.Unique("refunds");
        var chargebacks = KafkaClients.Unique("chargebacks");
        await admin.CreateTopicsAsync([
            new TopicSpecification { Name = refunds, NumPartitions = 3, ReplicationFactor = 1 },
            new TopicSpecification { Name = chargebacks, NumPartitions = 1, ReplicationFactor = 1 },
        ]);

        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(10));
        Assert.Equal(3, metadata.Topics.Single(t => t.Topic == refunds).Partitions.Count);
        Assert.Single(metadata.Topics.Single(t => t.Topic == chargebacks).Partitions);
        Assert.Equal(0, metadata.OriginatingBrokerId);

        var duplicate = await Assert.ThrowsAsync<CreateTopicsException>(() =>
            admin.CreateTopicsAsync([new TopicSpecification { Name = refunds, NumPartitions = 3, ReplicationFactor = 1 }]));
        Assert.Equal(ErrorCode.TopicAlreadyExists, duplicate.Results.Single().Error.Code);

        var replicated = await Assert.ThrowsAsync<CreateTopicsException>(() =>
            admin.CreateTopicsAsync([new TopicSpecification { Name = KafkaClients.Unique("replicated"), NumPartitions = 1, ReplicationFactor = 3 }]));
        Assert.Equal(ErrorCode.InvalidReplicationFactor, replicated.Results.Single().Error.Code);

        await admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = chargebacks, IncreaseTo = 3 }]);
        var described = await admin.DescribeTopicsAsync(TopicCollection.OfTopicNames([chargebacks]));
        Assert.Equal(3, described.TopicDescriptions.Single().Partitions.Count);
        var shrink = await Assert.ThrowsAsync<CreatePartitionsException>(() =>
            admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = chargebacks, IncreaseTo = 2 }]));
        Assert.Equal(ErrorCode.InvalidPartitions, shrink.Results.Single().Error.Code);
        Assert.Single((await admin.DescribeClusterAsync()).Nodes);

        await admin.DeleteTopicsAsync([refunds]);
        await Eventually.TrueAsync(() => admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics.All(t => t.Topic != refunds),
            TimeSpan.FromSeconds(10), "deleted topic disappears from metadata");
        Assert.Contains(admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics, t => t.Topic == chargebacks);
        Assert.False(Directory.Exists(Path.Combine(kafka.DataDirectory, "topics", refunds)));
    }

    [Fact]
    public async Task Consumer_groups_can_be_listed_and_described()
    {
        var topic = KafkaClients.Unique("captures");
        var group = KafkaClients.Unique("reconciler");
        await KafkaClients.CreateTopicAsync(kafka.BootstrapServers, topic, 2);
        using var member = new GroupMember(kafka.BootstrapServers, group, topic, "reconciler-1");
        await Eventually.TrueAsync(() => member.Assignment.Count == 2, TimeSpan.FromSeconds(30), "member owns both partitions");

        using var admin = Admin();
        var listed = await admin.ListConsumerGroupsAsync();
        Assert.Contains(listed.Valid, g => g.GroupId == group);
        var described = (await admin.DescribeConsumerGroupsAsync([group])).ConsumerGroupDescriptions.Single();
        Assert.Equal(ConsumerGroupState.Stable, described.State);
        Assert.Single(described.Members);
        Assert.Equal(2, described.Members[0].Assignment.TopicPartitions.Count);

        Produce.Values(kafka.BootstrapServers, topic, 0, 1);
        await Eventually.TrueAsync(() => CommittedOffsets.CaughtUp(kafka.BootstrapServers, group, topic, 2), TimeSpan.FromSeconds(30),
            "the group has committed offsets (so it outlives its members)");
        var busy = await Assert.ThrowsAsync<DeleteGroupsException>(() => admin.DeleteGroupsAsync([group]));
        Assert.Equal(ErrorCode.NonEmptyGroup, busy.Results.Single().Error.Code);
        member.Close();
        await Eventually.TrueAsync(async () =>
        {
            try { await admin.DeleteGroupsAsync([group]); return true; }
            catch (DeleteGroupsException e) when (e.Results.Single().Error.Code == ErrorCode.NonEmptyGroup) { return false; } // leave not processed yet
        }, TimeSpan.FromSeconds(10), "the group is deleted once its last member has left");
        Assert.DoesNotContain((await admin.ListConsumerGroupsAsync()).Valid, g => g.GroupId == group);
        Assert.False(CommittedOffsets.CaughtUp(kafka.BootstrapServers, group, topic, 2), "deleting the group dropped its offsets");
    }
}

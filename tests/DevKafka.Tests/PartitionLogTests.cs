using DevKafka.Log;
using Xunit;

namespace DevKafka.Tests;

public sealed class PartitionLogTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "payrail-plog-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Segments_older_than_the_age_limit_are_deleted_but_never_the_active_one()
    {
        using var log = PartitionLog.Open(_dir, 0, segmentBytes: 1, maxProducers: 10, maxBatchBytes: 1 << 20, _ => { });
        for (var i = 0; i < 5; i++)
        {
            var batch = WireFormat.RecordBatch($"k{i}", $"v{i}"); // timestamps from 2023
            Assert.Equal(0, log.Append(batch, 1 << 20, 0).Error);
        }
        Assert.Equal(5, Directory.GetFiles(_dir, "*.log").Length); // 1-byte segments: one batch each

        Assert.Equal(0, log.ApplyRetention(-1, oldestTimestampToKeep: 1_600_000_000_000, maxBatches: 100)); // all newer
        Assert.Equal(4, log.ApplyRetention(-1, oldestTimestampToKeep: 1_800_000_000_000, maxBatches: 100));
        Assert.Single(Directory.GetFiles(_dir, "*.log"));
        Assert.Equal(4, log.LogStartOffset);
        Assert.Equal(5, log.HighWatermark);
        Assert.Equal(DevKafka.Protocol.ErrorCode.OffsetOutOfRange, log.Read(0, 1000).Error);
        Assert.NotEmpty(log.Read(4, 1000).Records);
    }
}

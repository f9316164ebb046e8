using System.Text;
using DevKafka.Producers;
using DevKafka.Protocol;
using Xunit;

namespace DevKafka.Tests;

public sealed class ProducerStateTableTests
{
    private static RecordBatchHeader Batch(long pid, short epoch, int baseSeq, int count) =>
        new(0, 100, 2, 0, 0, count - 1, 0, 0, pid, epoch, baseSeq, count);

    [Fact]
    public void Crc32C_matches_the_castagnoli_check_value() =>
        Assert.Equal(0xE3069283u, RecordBatchHeader.Crc32C(Encoding.ASCII.GetBytes("123456789")));

    [Fact]
    public void A_retried_batch_gets_its_original_offset_and_a_gap_is_rejected()
    {
        var table = new ProducerStateTable(100);
        var first = Batch(7, 0, 0, 10);
        Assert.Equal(SequenceDecision.Append, table.Check(first));
        table.Record(first, 500);
        var second = Batch(7, 0, 10, 5);
        Assert.Equal(SequenceDecision.Append, table.Check(second));
        table.Record(second, 510);

        Assert.Equal(500, table.Check(first).DuplicateOfOffset);
        Assert.Equal(510, table.Check(second).DuplicateOfOffset);
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, table.Check(Batch(7, 0, 16, 1)).Error);
        Assert.Equal(SequenceDecision.Append, table.Check(Batch(7, 0, 15, 1)));
    }

    [Fact]
    public void An_epoch_bump_restarts_sequences_and_an_old_epoch_is_fenced()
    {
        var table = new ProducerStateTable(100);
        table.Record(Batch(9, 1, 0, 3), 0);
        Assert.Equal(ErrorCode.InvalidProducerEpoch, table.Check(Batch(9, 0, 3, 1)).Error);
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, table.Check(Batch(9, 2, 5, 1)).Error);
        Assert.Equal(SequenceDecision.Append, table.Check(Batch(9, 2, 0, 1)));
    }
}

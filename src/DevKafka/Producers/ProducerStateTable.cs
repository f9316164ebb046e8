using DevKafka.Protocol;

namespace DevKafka.Producers;

/// <summary>What to do with an incoming batch from an idempotent producer.</summary>
public readonly record struct SequenceDecision(short Error, long DuplicateOfOffset)
{
    public static readonly SequenceDecision Append = new(ErrorCode.None, -1);
    public bool IsDuplicate => DuplicateOfOffset >= 0;
}

/// <summary>
/// Idempotent-producer state of one partition: per producer id the epoch, last sequence and the last five
/// batches, so a retried batch is acknowledged with its original offset instead of being appended twice.
/// Not thread-safe: the owning partition log serialises access.
/// </summary>
public sealed class ProducerStateTable(int maxProducers)
{
    private const int RememberedBatches = 5; // librdkafka caps max.in.flight at 5 with idempotence

    private sealed class Entry
    {
        public short Epoch;
        public int LastSequence;
        public readonly Queue<(int First, int Last, long BaseOffset)> Recent = new();
        public long LastUsed;
    }

    private readonly Dictionary<long, Entry> _producers = new();
    private long _useCounter;

    public SequenceDecision Check(in RecordBatchHeader batch)
    {
        if (batch.ProducerId < 0) return SequenceDecision.Append;
        if (!_producers.TryGetValue(batch.ProducerId, out var entry)) return SequenceDecision.Append; // unknown producer: any sequence starts it
        if (batch.ProducerEpoch < entry.Epoch) return new SequenceDecision(ErrorCode.InvalidProducerEpoch, -1);
        if (batch.ProducerEpoch > entry.Epoch)
            return batch.BaseSequence == 0 ? SequenceDecision.Append : new SequenceDecision(ErrorCode.OutOfOrderSequenceNumber, -1);
        foreach (var (first, last, baseOffset) in entry.Recent)
            if (first == batch.BaseSequence && last == batch.LastSequence) return new SequenceDecision(ErrorCode.None, baseOffset);
        var expected = entry.LastSequence == int.MaxValue ? 0 : entry.LastSequence + 1;
        return batch.BaseSequence == expected ? SequenceDecision.Append : new SequenceDecision(ErrorCode.OutOfOrderSequenceNumber, -1);
    }

    /// <summary>Records an appended batch (also used while replaying the log on startup).</summary>
    public void Record(in RecordBatchHeader batch, long baseOffset)
    {
        if (batch.ProducerId < 0 || batch.BaseSequence < 0) return;
        if (!_producers.TryGetValue(batch.ProducerId, out var entry))
        {
            if (_producers.Count >= maxProducers) EvictLeastRecentlyUsed();
            entry = new Entry();
            _producers[batch.ProducerId] = entry;
        }
        if (batch.ProducerEpoch != entry.Epoch) { entry.Epoch = batch.ProducerEpoch; entry.Recent.Clear(); }
        entry.LastSequence = batch.LastSequence;
        entry.Recent.Enqueue((batch.BaseSequence, batch.LastSequence, baseOffset));
        while (entry.Recent.Count > RememberedBatches) entry.Recent.Dequeue();
        entry.LastUsed = ++_useCounter;
    }

    private void EvictLeastRecentlyUsed()
    {
        var oldest = _producers.MinBy(p => p.Value.LastUsed).Key;
        _producers.Remove(oldest);
    }
}

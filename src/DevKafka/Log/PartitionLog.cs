using System.Buffers.Binary;
using DevKafka.Producers;
using DevKafka.Protocol;
using Microsoft.Win32.SafeHandles;

namespace DevKafka.Log;

/// <summary>Result of appending one produce request's records to a partition.</summary>
public readonly record struct AppendResult(short Error, long BaseOffset, long EndPosition, Segment? Segment);

/// <summary>Records read for a Fetch, with the partition's offsets at read time.</summary>
public readonly record struct ReadResult(short Error, long HighWatermark, long LogStartOffset, byte[] Records);

/// <summary>
/// The append-only log of one partition: segment files of RecordBatch v2 bytes stored as received (only
/// baseOffset rewritten), the batch index, and the idempotent-producer state rebuilt from the log on open.
/// Appends and index changes happen under <see cref="_gate"/>; file reads happen outside it.
/// </summary>
public sealed class PartitionLog : IDisposable
{
    private readonly object _gate = new();
    private readonly object _flushGate = new();
    private readonly List<Segment> _segments = new();
    private readonly string _directory;
    private readonly long _segmentBytes;
    private readonly ProducerStateTable _producers;
    private TaskCompletionSource _appended = NewSignal();
    private bool _disposed;

    private PartitionLog(string directory, int partition, long segmentBytes, int maxProducers)
    {
        _directory = directory;
        Partition = partition;
        _segmentBytes = segmentBytes;
        _producers = new ProducerStateTable(maxProducers);
    }

    public int Partition { get; }
    public long HighWatermark { get { lock (_gate) return _segments[^1].NextOffset; } }
    public long LogStartOffset { get { lock (_gate) return _segments[0].BatchesStart(); } }

    /// <summary>Completes at the next append; Fetch long-polls on it instead of spinning.</summary>
    public Task Appended { get { lock (_gate) return _appended.Task; } }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static PartitionLog Open(string directory, int partition, long segmentBytes, int maxProducers, int maxBatchBytes, Action<string> log)
    {
        Directory.CreateDirectory(directory);
        var plog = new PartitionLog(directory, partition, segmentBytes, maxProducers);
        var files = Directory.GetFiles(directory, "*.log")
            .Select(f => (Path: f, Base: long.TryParse(System.IO.Path.GetFileNameWithoutExtension(f), out var b) ? b : -1))
            .Where(f => f.Base >= 0).OrderBy(f => f.Base).ToList();
        var expectNext = -1L;
        var torn = false;
        foreach (var (path, baseOffset) in files)
        {
            if (torn || (expectNext >= 0 && baseOffset != expectNext))
            {
                // Anything after a torn or missing piece cannot be trusted to be contiguous.
                log($"recovery: dropping segment {path} (after torn tail or gap)");
                File.Delete(path);
                torn = true;
                continue;
            }
            var segment = new Segment(path, baseOffset, OpenHandle(path));
            torn = !plog.Recover(segment, maxBatchBytes, log);
            plog._segments.Add(segment);
            expectNext = segment.NextOffset;
        }
        if (plog._segments.Count == 0) plog._segments.Add(plog.CreateSegment(0));
        return plog;
    }

    private static SafeFileHandle OpenHandle(string path) =>
        File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);

    private Segment CreateSegment(long baseOffset)
    {
        var path = System.IO.Path.Combine(_directory, Segment.FileName(baseOffset));
        return new Segment(path, baseOffset, OpenHandle(path));
    }

    /// <summary>Scans a segment, indexing valid batches; truncates the file at the first torn or corrupt batch.</summary>
    private bool Recover(Segment segment, int maxBatchBytes, Action<string> log)
    {
        var length = RandomAccess.GetLength(segment.Handle);
        long pos = 0;
        var expected = segment.BaseOffset;
        var head = new byte[RecordBatchHeader.LogOverhead];
        while (pos < length)
        {
            var ok = false;
            if (length - pos >= RecordBatchHeader.HeaderSize)
            {
                RandomAccess.Read(segment.Handle, head, pos);
                var batchLength = BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(8));
                var total = (long)batchLength + RecordBatchHeader.LogOverhead;
                if (batchLength >= RecordBatchHeader.HeaderSize - RecordBatchHeader.LogOverhead && total <= maxBatchBytes + 1024 && pos + total <= length)
                {
                    var bytes = new byte[total];
                    RandomAccess.Read(segment.Handle, bytes, pos);
                    if (RecordBatchHeader.TryParse(bytes, out var h) && h.Magic == 2 && h.BaseOffset == expected &&
                        h.LastOffsetDelta >= 0 && RecordBatchHeader.ComputeCrc(bytes) == h.Crc)
                    {
                        segment.Add(new BatchEntry(h.BaseOffset, h.BaseOffset + h.LastOffsetDelta, pos, (int)total, Math.Max(h.MaxTimestamp, h.BaseTimestamp)));
                        _producers.Record(h, h.BaseOffset);
                        expected = h.BaseOffset + h.LastOffsetDelta + 1;
                        pos += total;
                        ok = true;
                    }
                }
            }
            if (!ok)
            {
                log($"recovery: truncating torn tail of {segment.Path} at byte {pos} of {length}");
                RandomAccess.SetLength(segment.Handle, pos);
                RandomAccess.FlushToDisk(segment.Handle);
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Validates and appends the batches of one produce request. Runs synchronously in request order so that
    /// pipelined produces from one connection append in the order they were sent.
    /// </summary>
    public AppendResult Append(ArraySegment<byte> records, int maxBatchBytes, long appendTime)
    {
        // Validate every batch before writing any, so a bad request writes nothing.
        var headers = new List<RecordBatchHeader>(1);
        var span = records.AsSpan();
        var at = 0;
        while (at < span.Length)
        {
            if (!RecordBatchHeader.TryParse(span[at..], out var h)) return new AppendResult(ErrorCode.CorruptMessage, -1, 0, null);
            if (h.Magic != 2) return new AppendResult(ErrorCode.UnsupportedForMessageFormat, -1, 0, null);
            if (h.BatchLength < RecordBatchHeader.HeaderSize - RecordBatchHeader.LogOverhead || h.TotalSize > span.Length - at)
                return new AppendResult(ErrorCode.CorruptMessage, -1, 0, null);
            if (h.TotalSize > maxBatchBytes) return new AppendResult(ErrorCode.MessageTooLarge, -1, 0, null);
            if (RecordBatchHeader.ComputeCrc(span.Slice(at, h.TotalSize)) != h.Crc) return new AppendResult(ErrorCode.CorruptMessage, -1, 0, null);
            if (h.IsControl || h.IsTransactional || h.RecordCount <= 0 || h.LastOffsetDelta != h.RecordCount - 1)
                return new AppendResult(ErrorCode.InvalidRecord, -1, 0, null);
            headers.Add(h);
            at += h.TotalSize;
        }
        if (headers.Count == 0) return new AppendResult(ErrorCode.CorruptMessage, -1, 0, null);

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // librdkafka sends one batch per partition; with several, the decision of the first applies.
            var decision = _producers.Check(headers[0]);
            if (decision.Error != ErrorCode.None) return new AppendResult(decision.Error, -1, 0, null);
            if (decision.IsDuplicate) return new AppendResult(ErrorCode.None, decision.DuplicateOfOffset, 0, null);

            var active = _segments[^1];
            if (active.Size >= _segmentBytes)
            {
                active = CreateSegment(active.NextOffset);
                _segments.Add(active);
            }
            var firstOffset = active.NextOffset;
            var next = firstOffset;
            var position = active.Size;
            var start = records.Offset;
            foreach (var h in headers)
            {
                // The broker owns offsets: rewrite baseOffset in place (not covered by the CRC).
                BinaryPrimitives.WriteInt64BigEndian(records.Array.AsSpan(start, 8), next);
                RandomAccess.Write(active.Handle, records.Array.AsSpan(start, h.TotalSize), position);
                active.Add(new BatchEntry(next, next + h.LastOffsetDelta, position, h.TotalSize, Math.Max(h.MaxTimestamp, h.BaseTimestamp)));
                _producers.Record(h, next);
                next += h.LastOffsetDelta + 1;
                position += h.TotalSize;
                start += h.TotalSize;
            }
            _appended.TrySetResult();
            _appended = NewSignal();
            return new AppendResult(ErrorCode.None, firstOffset, position, active);
        }
    }

    /// <summary>
    /// Forces a segment to disk up to <paramref name="endPosition"/>. One fsync covers everything appended
    /// before it started, so pipelined produces waiting behind it return without another (group commit).
    /// </summary>
    public void Flush(Segment segment, long endPosition)
    {
        lock (_flushGate)
        {
            if (segment.FlushedSize >= endPosition || segment.Handle.IsClosed) return;
            long written;
            lock (_gate) written = segment.Size;
            RandomAccess.FlushToDisk(segment.Handle);
            segment.FlushedSize = written;
        }
    }

    /// <summary>
    /// Bytes of the batches from <paramref name="offset"/> on, counted from the batch index up to <paramref name="atLeast"/>
    /// (then it stops): what a parked fetch checks at each append without reading the file. -1 when the offset is out of
    /// range (the fetch answers at once; <see cref="Read"/> reports the error).
    /// </summary>
    public long BytesAvailable(long offset, long atLeast)
    {
        lock (_gate)
        {
            var hwm = _segments[^1].NextOffset;
            if (offset < _segments[0].BatchesStart() || offset > hwm) return -1;
            var total = 0L;
            for (var s = FindSegment(offset); s < _segments.Count && total < atLeast && offset < hwm; s++)
            {
                var seg = _segments[s];
                for (var b = seg.FindBatch(offset); b < seg.Batches.Count && total < atLeast; b++) total += seg.Batches[b].Size;
            }
            return total;
        }
    }

    /// <summary>Whole batches from <paramref name="offset"/> on, at least one batch, then up to maxBytes.</summary>
    public ReadResult Read(long offset, int maxBytes)
    {
        List<(Segment Segment, long Position, int Length)> ranges = new();
        long hwm, logStart;
        lock (_gate)
        {
            hwm = _segments[^1].NextOffset;
            logStart = _segments[0].BatchesStart();
            if (offset < logStart || offset > hwm) return new ReadResult(ErrorCode.OffsetOutOfRange, hwm, logStart, []);
            if (offset == hwm) return new ReadResult(ErrorCode.None, hwm, logStart, []);
            var total = 0L;
            var segIndex = FindSegment(offset);
            for (var s = segIndex; s < _segments.Count && (total == 0 || total < maxBytes); s++)
            {
                var seg = _segments[s];
                var first = s == segIndex ? seg.FindBatch(offset) : 0;
                if (first >= seg.Batches.Count) continue;
                var startPos = seg.Batches[first].Position;
                var endPos = startPos;
                for (var b = first; b < seg.Batches.Count; b++)
                {
                    var e = seg.Batches[b];
                    if (total > 0 && total + e.Size > maxBytes) break;
                    total += e.Size;
                    endPos = e.Position + e.Size;
                }
                if (endPos > startPos) ranges.Add((seg, startPos, (int)(endPos - startPos)));
                if (total >= maxBytes) break;
            }
        }
        var buffer = new byte[ranges.Sum(r => r.Length)];
        var at = 0;
        try
        {
            foreach (var (seg, pos, len) in ranges)
            {
                RandomAccess.Read(seg.Handle, buffer.AsSpan(at, len), pos);
                at += len;
            }
        }
        catch (ObjectDisposedException)
        {
            // Segment deleted by retention while reading: the client retries from its offset.
            return new ReadResult(ErrorCode.None, hwm, logStart, []);
        }
        return new ReadResult(ErrorCode.None, hwm, logStart, buffer);
    }

    private int FindSegment(long offset)
    {
        for (var i = _segments.Count - 1; i > 0; i--)
            if (_segments[i].BaseOffset <= offset) return i;
        return 0;
    }

    /// <summary>First offset whose batch has a timestamp at or after <paramref name="timestamp"/>, or -1.</summary>
    public long OffsetForTimestamp(long timestamp)
    {
        lock (_gate)
        {
            foreach (var seg in _segments)
                foreach (var b in seg.Batches)
                    if (b.MaxTimestamp >= timestamp) return b.BaseOffset;
            return -1;
        }
    }

    /// <summary>Deletes closed segments beyond the size cap or older than the age limit; never the active one.</summary>
    public int ApplyRetention(long retentionBytes, long oldestTimestampToKeep, int maxBatches)
    {
        var removed = new List<Segment>();
        lock (_gate)
        {
            var size = _segments.Sum(s => s.Size);
            var batches = _segments.Sum(s => s.Batches.Count);
            while (_segments.Count > 1)
            {
                var oldest = _segments[0];
                var tooBig = retentionBytes >= 0 && size > retentionBytes;
                var tooOld = oldest.MaxTimestamp >= 0 && oldest.MaxTimestamp < oldestTimestampToKeep;
                if (!tooBig && !tooOld && batches <= maxBatches) break;
                _segments.RemoveAt(0);
                size -= oldest.Size;
                batches -= oldest.Batches.Count;
                removed.Add(oldest);
            }
        }
        foreach (var seg in removed)
        {
            lock (_flushGate) seg.Dispose();
            File.Delete(seg.Path);
        }
        return removed.Count;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            lock (_flushGate)
                foreach (var s in _segments) s.Dispose();
            _appended.TrySetResult();
        }
    }
}

internal static class SegmentExtensions
{
    /// <summary>First offset still stored in the segment (its base offset when empty).</summary>
    public static long BatchesStart(this Segment segment) => segment.Batches.Count == 0 ? segment.BaseOffset : segment.Batches[0].BaseOffset;
}

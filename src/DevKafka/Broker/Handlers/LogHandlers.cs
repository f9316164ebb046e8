using DevKafka.Log;
using DevKafka.Protocol;

namespace DevKafka.Broker.Handlers;

public sealed partial class RequestHandlers
{
    private Task<byte[]?> Produce(RequestHeader h, KafkaReader r)
    {
        var v = h.ApiVersion;
        var transactionalId = r.NullableString();
        var acks = r.Int16();
        r.Int32(); // timeout: appends are local and immediate
        var request = ReadArray(r, () => (Topic: r.String(), Partitions: ReadArray(r, () => (Index: r.Int32(), Records: r.NullableBytes()), 8)), 6);

        var now = options.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var toFlush = new List<(PartitionLog Log, Segment Segment, long End)>();
        var flush = options.Fsync switch
        {
            FsyncPolicy.BeforeAcksAll => acks == -1,
            FsyncPolicy.BeforeEveryAck => acks != 0,
            _ => false,
        };
        var results = request.Select(t => (t.Topic, Partitions: t.Partitions.Select(p =>
        {
            if (acks is not (-1 or 0 or 1)) return (p.Index, ErrorCode.InvalidRequiredAcks, -1L, -1L);
            if (transactionalId is not null) return (p.Index, ErrorCode.InvalidRequest, -1L, -1L);
            var topic = topics.Get(t.Topic);
            if (topic is null || p.Index < 0 || p.Index >= topic.Partitions.Length) return (p.Index, ErrorCode.UnknownTopicOrPartition, -1L, -1L);
            if (p.Records is not { } records) return (p.Index, ErrorCode.CorruptMessage, -1L, -1L);
            var plog = topic.Partitions[p.Index];
            try
            {
                var result = plog.Append(records, options.MaxMessageBytes, now);
                if (result.Error != ErrorCode.None) log($"produce {t.Topic}/{p.Index} from {h.ClientHost} rejected with error {result.Error}");
                if (flush && result.Segment is not null) toFlush.Add((plog, result.Segment, result.EndPosition));
                return (p.Index, result.Error, result.BaseOffset, plog.LogStartOffset);
            }
            catch (ObjectDisposedException)
            {
                return (p.Index, ErrorCode.UnknownTopicOrPartition, -1L, -1L); // topic deleted meanwhile
            }
        }).ToList())).ToList();

        if (acks == 0) return Task.FromResult<byte[]?>(null);
        var w = new KafkaWriter(h.CorrelationId);
        WriteArray(w, results, t =>
        {
            w.String(t.Topic);
            WriteArray(w, t.Partitions, p =>
            {
                w.Int32(p.Item1).Int16(p.Item2).Int64(p.Item3).Int64(-1);
                if (v >= 5) w.Int64(p.Item4);
                if (v >= 8) w.Int32(0).String(null);
            });
        });
        w.Int32(0);
        if (toFlush.Count == 0) return Done(w);
        return FlushThenRespond(toFlush, w);
    }

    private static async Task<byte[]?> FlushThenRespond(List<(PartitionLog Log, Segment Segment, long End)> toFlush, KafkaWriter w)
    {
        // Acknowledge only what is on disk; the fsync runs off the connection's reader.
        await Task.Run(() => { foreach (var (plog, segment, end) in toFlush) plog.Flush(segment, end); }).ConfigureAwait(false);
        return w.ToFrame();
    }

    private async Task<byte[]?> Fetch(RequestHeader h, KafkaReader r)
    {
        var v = h.ApiVersion;
        r.Int32(); // replica id
        var maxWaitMs = Math.Clamp(r.Int32(), 0, options.MaxFetchWaitMs);
        var minBytes = r.Int32();
        var maxBytes = Math.Clamp(r.Int32(), 1, options.MaxFetchBytes);
        r.Int8(); // isolation: no transactions, so read_committed == read_uncommitted
        if (v >= 7) { r.Int32(); r.Int32(); }
        var request = ReadArray(r, () => (Topic: r.String(), Partitions: ReadArray(r, () =>
        {
            var index = r.Int32();
            if (v >= 9) r.Int32();
            var offset = r.Int64();
            if (v >= 5) r.Int64();
            return (Index: index, Offset: offset, MaxBytes: r.Int32());
        }, 16)), 6);
        if (v >= 7) ReadArray(r, () => (r.String(), ReadArray(r, r.Int32, 4)), 6);
        if (v >= 11) r.String();

        var deadline = options.Time.GetUtcNow().AddMilliseconds(maxWaitMs);
        var timeout = maxWaitMs > 0 && minBytes > 0 ? Task.Delay(TimeSpan.FromMilliseconds(maxWaitMs), options.Time, stopping) : Task.CompletedTask;
        while (true)
        {
            // Take the "appended" signals before looking so an append in between still wakes us. A parked fetch only
            // counts bytes from the batch index at each append; the log is read once, when it answers (it re-read and
            // copied every partition at every append while waiting for fetch.min.bytes).
            var signals = new List<Task>();
            var available = 0L;
            var anyError = false;
            foreach (var t in request)
            {
                var topic = topics.Get(t.Topic);
                foreach (var p in t.Partitions)
                {
                    if (topic is null || p.Index < 0 || p.Index >= topic.Partitions.Length)
                    {
                        anyError = true;
                        continue;
                    }
                    var plog = topic.Partitions[p.Index];
                    signals.Add(plog.Appended);
                    long bytes;
                    try { bytes = plog.BytesAvailable(p.Offset, Math.Max(1, minBytes)); }
                    catch (ObjectDisposedException) { bytes = -1; }
                    if (bytes < 0) anyError = true;
                    else available += bytes;
                }
            }

            var remaining = deadline - options.Time.GetUtcNow();
            if (available >= minBytes || anyError || remaining <= TimeSpan.Zero || timeout.IsCompleted || signals.Count == 0)
                return WriteFetch(h, ReadAll(request, maxBytes));
            signals.Add(timeout);
            await Task.WhenAny(signals).ConfigureAwait(false);
        }
    }

    /// <summary>Each requested partition's batches from its offset, within its own and the request's byte budget.</summary>
    private List<(string Topic, List<(int Index, ReadResult Read)> Partitions)> ReadAll(
        List<(string Topic, List<(int Index, long Offset, int MaxBytes)> Partitions)> request, int maxBytes)
    {
        var total = 0;
        return request.Select(t =>
        {
            var topic = topics.Get(t.Topic);
            return (t.Topic, Partitions: t.Partitions.Select(p =>
            {
                if (topic is null || p.Index < 0 || p.Index >= topic.Partitions.Length)
                    return (p.Index, Read: new ReadResult(ErrorCode.UnknownTopicOrPartition, -1, -1, []));
                var plog = topic.Partitions[p.Index];
                var budget = Math.Min(Math.Max(p.MaxBytes, 1), maxBytes - total);
                ReadResult read;
                if (budget <= 0)
                    read = new ReadResult(ErrorCode.None, plog.HighWatermark, plog.LogStartOffset, []);
                else
                {
                    try { read = plog.Read(p.Offset, budget); }
                    catch (ObjectDisposedException) { read = new ReadResult(ErrorCode.UnknownTopicOrPartition, -1, -1, []); }
                }
                total += read.Records.Length;
                return (p.Index, Read: read);
            }).ToList());
        }).ToList();
    }

    private static byte[] WriteFetch(RequestHeader h, List<(string Topic, List<(int Index, ReadResult Read)> Partitions)> results)
    {
        var v = h.ApiVersion;
        // Exact frame size, so the (possibly multi-megabyte) response is built without a resize copy.
        var perPartition = 4 + 2 + 8 + 8 + (v >= 5 ? 8 : 0) + 4 + (v >= 11 ? 4 : 0) + 4;
        var size = 4 + 4 + 4 + (v >= 7 ? 6 : 0) + 4 + results.Sum(t =>
            2 + System.Text.Encoding.UTF8.GetByteCount(t.Topic) + 4 + t.Partitions.Sum(p => perPartition + p.Read.Records.Length));
        var w = new KafkaWriter(h.CorrelationId, size).Int32(0);
        if (v >= 7) w.Int16(ErrorCode.None).Int32(0);
        WriteArray(w, results, t =>
        {
            w.String(t.Topic);
            WriteArray(w, t.Partitions, p =>
            {
                w.Int32(p.Index).Int16(p.Read.Error).Int64(p.Read.HighWatermark).Int64(p.Read.HighWatermark);
                if (v >= 5) w.Int64(p.Read.LogStartOffset);
                w.Int32(0); // aborted transactions: none
                if (v >= 11) w.Int32(-1);
                w.Bytes(p.Read.Records);
            });
        });
        return w.ToFrame();
    }

    private Task<byte[]?> ListOffsets(RequestHeader h, KafkaReader r)
    {
        var v = h.ApiVersion;
        r.Int32();
        if (v >= 2) r.Int8();
        var request = ReadArray(r, () => (Topic: r.String(), Partitions: ReadArray(r, () =>
        {
            var index = r.Int32();
            if (v >= 4) r.Int32();
            return (Index: index, Timestamp: r.Int64());
        }, 12)), 6);

        var w = new KafkaWriter(h.CorrelationId);
        if (v >= 2) w.Int32(0);
        WriteArray(w, request, t =>
        {
            var topic = topics.Get(t.Topic);
            w.String(t.Topic);
            WriteArray(w, t.Partitions, p =>
            {
                w.Int32(p.Index);
                if (topic is null || p.Index < 0 || p.Index >= topic.Partitions.Length)
                    w.Int16(ErrorCode.UnknownTopicOrPartition).Int64(-1).Int64(-1);
                else
                {
                    var plog = topic.Partitions[p.Index];
                    var offset = p.Timestamp switch
                    {
                        -1 => plog.HighWatermark,
                        -2 => plog.LogStartOffset,
                        _ => plog.OffsetForTimestamp(p.Timestamp),
                    };
                    w.Int16(ErrorCode.None).Int64(-1).Int64(offset);
                }
                if (v >= 4) w.Int32(0);
            });
        });
        return Done(w);
    }
}

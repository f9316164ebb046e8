using System.Buffers;
using System.Diagnostics;
using System.Text.Json;

namespace PspSim.Storage;

/// <summary>The steps of a compaction, in order (a test stops it at one to play a crash there).</summary>
public enum CompactionStep
{
    /// <summary>Appends went to the next journal; the snapshot is not written yet.</summary>
    Rotated,
    /// <summary>The snapshot's temp file is complete and on disk, not yet renamed.</summary>
    SnapshotWritten,
    /// <summary>The snapshot is in place; the files it replaces are not deleted yet.</summary>
    Renamed,
}

/// <summary>
/// What one compaction did and how long it held the store lock at most (the pause a request may have seen);
/// <paramref name="EvictionRowsExamined"/> is the eviction's work under that lock (see <see cref="Retention.Evict"/>).
/// </summary>
public sealed record CompactionReport(
    long Generation, int Objects, int Evicted, long SnapshotBytes, double LongestLockHoldMs, double ElapsedMs, int EvictionRowsExamined = 0);

public sealed partial class SimStore
{
    /// <summary>Rows serialized per hold of the store lock while writing a snapshot.</summary>
    public const int SnapshotRowsPerLock = 64;
    private const int SnapshotBufferBytes = 1024 * 1024;
    private const long FsyncEveryBytes = 8 * 1024 * 1024;

    // One compaction at a time; a semaphore, not a lock: the rotation runs on a request's thread, the rest on another.
    private readonly SemaphoreSlim _compaction = new(1, 1);
    private long _compactAtBytes;
    private long _unsyncedBytes;
    private long _snapshotBytes;
    private readonly Stopwatch _snapshotPace = new();
    private bool _disposed;

    public int Compactions { get; private set; }
    public CompactionReport? LastCompaction { get; private set; }
    public Exception? LastCompactionError { get; private set; }

    /// <summary>
    /// Once the journal passes its bound: moves appends to the next journal right here (a file open under the
    /// journal's lock, so the file stops growing now however busy the store lock is) and snapshots on a thread of its
    /// own. Should a snapshot take longer than writing another bound's worth, a writer that finds the journal at twice
    /// the bound waits for it (backpressure: the bound holds under any load; at the default bound nothing waits).
    /// </summary>
    private void CompactIfDue()
    {
        var threshold = Interlocked.Read(ref _compactAtBytes);
        if (_journal.Bytes < threshold) return;
        if (!_compaction.Wait(0))
        {
            if (_journal.Bytes < 2 * threshold) return;
            _compaction.Wait();
        }
        long generation;
        try
        {
            // Another writer may have rotated while this one waited.
            if (_disposed || _journal.Bytes < Interlocked.Read(ref _compactAtBytes))
            {
                _compaction.Release();
                return;
            }
            generation = _journal.Rotate();
        }
        catch (Exception e)
        {
            Failed(e);
            _compaction.Release();
            return;
        }
        Task.Factory.StartNew(() =>
        {
            try
            {
                WriteSnapshot(generation, Stopwatch.StartNew(), crashAt: null);
                LastCompactionError = null;
            }
            catch (Exception e) { Failed(e); }
            finally { _compaction.Release(); }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Disk full, permissions: keep serving from memory and the journal; try again one bound later.</summary>
    private void Failed(Exception e)
    {
        LastCompactionError = e;
        Interlocked.Exchange(ref _compactAtBytes, _journal.Bytes + _maxJournalBytes);
    }

    /// <summary>
    /// Moves appends to the next journal, evicts what <see cref="Retention"/> allows, writes the live state as the
    /// snapshot of that generation (temp file, fsync, rename) and deletes the files it replaces. The store lock is
    /// held for the eviction, then for <see cref="SnapshotRowsPerLock"/> rows at a time; file I/O runs outside it.
    /// </summary>
    /// <param name="crashAt">Test hook: called after each step; throwing there leaves the files as a crash would.</param>
    public CompactionReport Compact(Action<CompactionStep>? crashAt = null)
    {
        _compaction.Wait();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var elapsed = Stopwatch.StartNew();
            return WriteSnapshot(_journal.Rotate(), elapsed, crashAt);
        }
        finally { _compaction.Release(); }
    }

    /// <summary>
    /// Snapshot <paramref name="generation"/>: every line appended before it is in an older file, every change after it
    /// in journal <paramref name="generation"/>; each object is serialized as it is when its chunk is written (that
    /// version or a later one, which the journal also holds), so snapshot + journal replays to the live state.
    /// </summary>
    private CompactionReport WriteSnapshot(long generation, Stopwatch elapsed, Action<CompactionStep>? crashAt)
    {
        crashAt?.Invoke(CompactionStep.Rotated);
        var hold = Stopwatch.StartNew();
        Retention.Work eviction;
        List<(string Kind, ISnapshotTable Table, long UntilSeq)> tables;
        lock (_gate)
        {
            eviction = Retention.Evict(this, Now(), _retention);
            // The rows present now; the ones added later are in the new journal. No copy: a table of 200,000 rows took
            // tens of milliseconds to copy, all of it under the lock.
            tables =
            [
                .. new (string Kind, ISnapshotTable Table)[]
                {
                    ("pi", PaymentIntents), ("ch", Charges), ("re", Refunds), ("txn", BalanceTransactions), ("po", Payouts),
                    ("evt", Events), ("we", WebhookEndpoints),
                }.Select(t => (t.Kind, t.Table, t.Table.NextSeq)),
            ];
        }
        var longestHold = hold.Elapsed.TotalMilliseconds;

        var path = JournalFiles.SnapshotPath(_dataDir, generation);
        var temp = path + JournalFiles.TempSuffix;
        var objects = 0;
        long bytes;
        _unsyncedBytes = 0;
        _snapshotBytes = 0;
        _snapshotPace.Restart();
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024))
        {
            var buffer = new ArrayBufferWriter<byte>(SnapshotBufferBytes);
            using var writer = new Utf8JsonWriter(buffer);
            var chunk = new IStored[SnapshotRowsPerLock];
            foreach (var (kind, table, untilSeq) in tables)
            {
                var cursor = new TableCursor();
                int read;
                do
                {
                    hold.Restart();
                    // Objects change in place under the store lock: read and serialize them under it, a chunk at a time.
                    lock (_gate)
                    {
                        read = table.ReadChunk(cursor, chunk, untilSeq);
                        for (var i = 0; i < read; i++)
                            WriteLine(writer, buffer, kind, w => JsonSerializer.Serialize(w, chunk[i], chunk[i].GetType(), Journal.Json));
                    }
                    longestHold = Math.Max(longestHold, hold.Elapsed.TotalMilliseconds);
                    objects += read;
                    Spill(buffer, file);
                }
                while (read == chunk.Length);
            }
            WriteIdempotencyLines(writer, buffer, file);
            file.Flush(flushToDisk: true);
            bytes = file.Length;
        }
        crashAt?.Invoke(CompactionStep.SnapshotWritten);
        File.Move(temp, path, overwrite: true);
        crashAt?.Invoke(CompactionStep.Renamed);
        JournalFiles.DeleteSuperseded(_dataDir, generation, includeTemp: false);

        var report = new CompactionReport(generation, objects, eviction.Evicted, bytes, longestHold, elapsed.Elapsed.TotalMilliseconds,
            eviction.RowsExamined);
        LastCompaction = report;
        Compactions++;
        return report;
    }

    /// <summary>
    /// Stored idempotent answers live in <see cref="Idempotency.IdempotencyKeys"/>, under their own lock: the snapshot
    /// takes the live ones (a list of references, oldest first) and serializes them outside any lock — they never change.
    /// One taken after the rotation may also be in the new journal; a restore keeps one of the two.
    /// </summary>
    private void WriteIdempotencyLines(Utf8JsonWriter writer, ArrayBufferWriter<byte> buffer, FileStream file)
    {
        foreach (var response in IdempotencyKeys.Live())
        {
            WriteLine(writer, buffer, "idem", w => JsonSerializer.Serialize(w, response, Journal.Json));
            if (buffer.WrittenCount >= SnapshotBufferBytes) Spill(buffer, file);
        }
        Spill(buffer, file);
    }

    /// <summary>
    /// Writes the buffer out; every <see cref="FsyncEveryBytes"/> also to disk, so the final fsync does not flush hundreds
    /// of MB at once (a burst of write-back queues everyone's fsyncs behind it, PostgreSQL's WAL included). Paced to
    /// <see cref="PspSimOptions.SnapshotWriteBytesPerSecond"/>: unpaced, a 250 MB snapshot went out at 188 MB/s and
    /// stalled every request on the machine for half a second (Payrail's and pspsim's own) while it did.
    /// </summary>
    private void Spill(ArrayBufferWriter<byte> buffer, FileStream file)
    {
        file.Write(buffer.WrittenSpan);
        _unsyncedBytes += buffer.WrittenCount;
        _snapshotBytes += buffer.WrittenCount;
        buffer.ResetWrittenCount();
        if (_unsyncedBytes >= FsyncEveryBytes)
        {
            file.Flush(flushToDisk: true);
            _unsyncedBytes = 0;
        }
        PaceSnapshot();
    }

    /// <summary>
    /// Rate limiting, not synchronisation: the snapshot runs on a thread of its own, and waiting here keeps its disk and
    /// CPU use an even trickle. Each wait is at most one spill's worth (≈1 MB) at the configured rate.
    /// </summary>
    private void PaceSnapshot()
    {
        if (_snapshotBytesPerSecond <= 0) return;
        var due = TimeSpan.FromSeconds((double)_snapshotBytes / _snapshotBytesPerSecond);
        var ahead = due - _snapshotPace.Elapsed;
        if (ahead > TimeSpan.Zero) Thread.Sleep(ahead);
    }

    /// <summary>One line as the journal writes it: {"k":kind,"v":value}.</summary>
    private static void WriteLine(Utf8JsonWriter writer, ArrayBufferWriter<byte> buffer, string kind, Action<Utf8JsonWriter> value)
    {
        writer.Reset(buffer);
        writer.WriteStartObject();
        writer.WriteString("k", kind);
        writer.WritePropertyName("v");
        value(writer);
        writer.WriteEndObject();
        writer.Flush();
        buffer.Write("\n"u8);
    }

    public void Dispose()
    {
        // A compaction running in the background finishes first.
        _compaction.Wait();
        try
        {
            if (_disposed) return;
            _disposed = true;
            _journal.Dispose();
        }
        finally { _compaction.Release(); }
    }
}

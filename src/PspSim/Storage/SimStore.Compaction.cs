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

/// <summary>What one compaction did and how long it held the store lock (the pause requests may have seen).</summary>
public sealed record CompactionReport(
    long Generation, int Objects, int Evicted, long SnapshotBytes, double LongestLockHoldMs, double ElapsedMs);

public sealed partial class SimStore
{
    /// <summary>Rows serialized per hold of the store lock while writing a snapshot.</summary>
    public const int SnapshotRowsPerLock = 512;

    private readonly Lock _compactionGate = new();
    private int _compacting;
    private long _compactAtBytes;
    private bool _disposed;

    public int Compactions { get; private set; }
    public CompactionReport? LastCompaction { get; private set; }
    public Exception? LastCompactionError { get; private set; }

    /// <summary>Starts a compaction in the background once the journal passes its bound (one at a time).</summary>
    private void CompactIfDue()
    {
        if (_journal.Bytes < Interlocked.Read(ref _compactAtBytes) || Interlocked.CompareExchange(ref _compacting, 1, 0) != 0) return;
        _ = Task.Run(() =>
        {
            try
            {
                Compact();
                LastCompactionError = null;
            }
            catch (Exception e)
            {
                // Disk full, permissions: keep serving from memory and the journal; try again one bound later.
                LastCompactionError = e;
                Interlocked.Exchange(ref _compactAtBytes, _journal.Bytes + _maxJournalBytes);
            }
            finally { Volatile.Write(ref _compacting, 0); }
        });
    }

    /// <summary>
    /// Evicts what <see cref="Retention"/> allows, moves appends to the next journal, writes the live state as snapshot
    /// of that generation (temp file, fsync, rename) and deletes the files it replaces. The store lock is held for the
    /// eviction and rotation, then for <see cref="SnapshotRowsPerLock"/> rows at a time; file I/O runs outside it.
    /// </summary>
    /// <param name="crashAt">Test hook: called after each step; throwing there leaves the files as a crash would.</param>
    public CompactionReport Compact(Action<CompactionStep>? crashAt = null)
    {
        lock (_compactionGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var elapsed = Stopwatch.StartNew();
            var hold = Stopwatch.StartNew();
            long generation;
            int evicted;
            List<(string Kind, IStored[] Rows)> tables;
            lock (_gate)
            {
                evicted = Retention.Evict(this, Now(), _retention);
                generation = _journal.Rotate();
                tables =
                [
                    ("pi", PaymentIntents.CopyRows()), ("ch", Charges.CopyRows()), ("re", Refunds.CopyRows()),
                    ("txn", BalanceTransactions.CopyRows()), ("evt", Events.CopyRows()),
                ];
            }
            var longestHold = hold.Elapsed.TotalMilliseconds;
            crashAt?.Invoke(CompactionStep.Rotated);

            var path = JournalFiles.SnapshotPath(_dataDir, generation);
            var temp = path + JournalFiles.TempSuffix;
            var objects = 0;
            long bytes;
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024))
            {
                var buffer = new ArrayBufferWriter<byte>(1024 * 1024);
                using var writer = new Utf8JsonWriter(buffer);
                foreach (var (kind, rows) in tables)
                {
                    for (var from = 0; from < rows.Length; from += SnapshotRowsPerLock)
                    {
                        hold.Restart();
                        // Objects change in place under the store lock: serialize them under it too, a chunk at a time.
                        lock (_gate)
                        {
                            for (var i = from; i < Math.Min(rows.Length, from + SnapshotRowsPerLock); i++)
                                WriteLine(writer, buffer, kind, w => JsonSerializer.Serialize(w, rows[i], rows[i].GetType(), Journal.Json));
                        }
                        longestHold = Math.Max(longestHold, hold.Elapsed.TotalMilliseconds);
                        objects += Math.Min(SnapshotRowsPerLock, rows.Length - from);
                        file.Write(buffer.WrittenSpan);
                        buffer.ResetWrittenCount();
                    }
                }
                CopyLiveIdempotencyLines(generation, writer, buffer, file);
                file.Flush(flushToDisk: true);
                bytes = file.Length;
            }
            crashAt?.Invoke(CompactionStep.SnapshotWritten);
            File.Move(temp, path, overwrite: true);
            crashAt?.Invoke(CompactionStep.Renamed);
            JournalFiles.DeleteSuperseded(_dataDir, generation, includeTemp: false);

            var report = new CompactionReport(generation, objects, evicted, bytes, longestHold, elapsed.Elapsed.TotalMilliseconds);
            LastCompaction = report;
            Compactions++;
            return report;
        }
    }

    /// <summary>
    /// Stored idempotent answers live in <see cref="Idempotency.IdempotencyKeys"/>, under their own lock: the snapshot
    /// takes the unexpired ones from the files it replaces (every answer is journaled once, when stored).
    /// </summary>
    private void CopyLiveIdempotencyLines(long generation, Utf8JsonWriter writer, ArrayBufferWriter<byte> buffer, FileStream file)
    {
        var cutoff = Now() - (long)Idempotency.IdempotencyKeys.Retention.TotalSeconds;
        foreach (var superseded in JournalFiles.Superseded(_dataDir, generation))
        {
            Journal.ReadLines(superseded, (kind, v) =>
            {
                if (kind != "idem" || !v.TryGetProperty("created", out var created) || created.GetInt64() <= cutoff) return;
                WriteLine(writer, buffer, kind, v.WriteTo);
                if (buffer.WrittenCount >= 1024 * 1024)
                {
                    file.Write(buffer.WrittenSpan);
                    buffer.ResetWrittenCount();
                }
            });
        }
        file.Write(buffer.WrittenSpan);
        buffer.ResetWrittenCount();
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
        // A compaction running in the background finishes first (it holds this gate throughout).
        lock (_compactionGate)
        {
            if (_disposed) return;
            _disposed = true;
            _journal.Dispose();
        }
    }
}

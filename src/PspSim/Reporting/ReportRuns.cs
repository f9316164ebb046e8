using System.Buffers;
using PspSim.BalanceTransactions;
using PspSim.Storage;

namespace PspSim.Reporting;

/// <summary>One report run and, once it succeeded, its file (written under the data folder's files/).</summary>
public sealed class ReportRunState
{
    public required string Id { get; init; }
    public required long Created { get; init; }
    public required ActivityReport.Filter Filter { get; init; }
    public required IReadOnlyList<string> Columns { get; init; }
    /// <summary>The parameters as asked for, echoed in the run object as Stripe does.</summary>
    public required bool ColumnsGiven { get; init; }
    public string Status { get; set; } = "pending";
    public string? Error { get; set; }
    public long? SucceededAt { get; set; }
    public string? FileId { get; set; }
    public long FileSize { get; set; }
}

/// <summary>
/// The report runs pspsim holds: in memory only, not journaled (a restart forgets them and deletes their files; a
/// client starts a new run, as it would after Stripe's run failed). At most <see cref="MaxRuns"/>: creating one more
/// evicts the oldest with its file. Each run renders in the background, as Stripe's do (pending, then succeeded), at
/// most <see cref="MaxRendering"/> at once; the store lock is held for one chunk of rows at a time, never for a whole
/// report, so the API keeps answering while a million-row report is written.
/// </summary>
public sealed class ReportRuns
{
    public const int MaxRuns = 64;
    public const int MaxRendering = 4;
    private const int ChunkRows = 2_048;

    private readonly Lock _gate = new();
    private readonly LinkedList<ReportRunState> _runs = new();
    private readonly SemaphoreSlim _rendering = new(MaxRendering);
    private readonly string _folder;

    public ReportRuns(string dataDir)
    {
        _folder = Path.Combine(dataDir, "files");
        // Runs are not journaled: files of an earlier process name no run any more.
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
        Directory.CreateDirectory(_folder);
    }

    /// <summary>Runs <paramref name="read"/> while no rendering changes a run (a run's status, file and size change together).</summary>
    public void Read(Action read)
    {
        lock (_gate) read();
    }

    public ReportRunState? Find(string id)
    {
        lock (_gate) return _runs.FirstOrDefault(r => r.Id == id);
    }

    public ReportRunState? FindByFile(string fileId)
    {
        lock (_gate) return _runs.FirstOrDefault(r => r.FileId == fileId);
    }

    /// <summary>The file of a succeeded run, opened for reading; null when no held run has it.</summary>
    public FileStream? OpenFile(string fileId)
    {
        var run = FindByFile(fileId);
        if (run?.Status != "succeeded") return null;
        try { return new FileStream(PathOf(fileId), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 64 * 1024, useAsync: true); }
        catch (FileNotFoundException) { return null; }
    }

    /// <summary>Adds the run (evicting the oldest beyond <see cref="MaxRuns"/>) and starts rendering it.</summary>
    public void Start(ReportRunState run, SimStore store)
    {
        ReportRunState? evicted = null;
        lock (_gate)
        {
            _runs.AddLast(run);
            if (_runs.Count > MaxRuns)
            {
                evicted = _runs.First!.Value;
                _runs.RemoveFirst();
            }
        }
        if (evicted?.FileId is { } old) File.Delete(PathOf(old));
        _ = Task.Run(() => RenderAsync(run, store));
    }

    private async Task RenderAsync(ReportRunState run, SimStore store)
    {
        await _rendering.WaitAsync();
        var fileId = Stripe.Ids.New("file");
        var path = PathOf(fileId);
        try
        {
            long size;
            await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true))
            {
                var buffer = new ArrayBufferWriter<byte>(1 << 20);
                ActivityReport.WriteHeader(buffer, run.Columns);
                var writer = new ActivityReport.RowWriter(run.Columns);
                var cursor = new TableCursor();
                var rows = new IStored[ChunkRows];
                // Rows inserted after the run started are not in it: the report is of the data as it stood then.
                var until = store.Read(s => s.BalanceTransactions.NextSeq);
                while (true)
                {
                    var read = store.Read(s =>
                    {
                        var n = s.BalanceTransactions.ReadChunk(cursor, rows, until);
                        for (var i = 0; i < n; i++)
                            if (rows[i] is BalanceTransactionState t && run.Filter.Matches(t)) writer.Write(buffer, t, s);
                        return n;
                    });
                    await file.WriteAsync(buffer.WrittenMemory);
                    buffer.ResetWrittenCount();
                    if (read < rows.Length) break;
                }
                size = file.Length;
            }
            lock (_gate)
            {
                run.FileId = fileId;
                run.FileSize = size;
                run.SucceededAt = store.Now();
                run.Status = "succeeded";
            }
            // Evicted while it rendered: nothing names the file.
            if (Find(run.Id) is null) File.Delete(path);
        }
        catch (Exception e)
        {
            // Whatever broke the rendering, the run says so (a client polling it would otherwise wait out its deadline).
            File.Delete(path);
            lock (_gate)
            {
                run.Error = "The report could not be written: " + e.Message;
                run.Status = "failed";
            }
        }
        finally
        {
            _rendering.Release();
        }
    }

    private string PathOf(string fileId) => Path.Combine(_folder, fileId + ".csv");
}

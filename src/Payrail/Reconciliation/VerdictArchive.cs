using System.Threading.Channels;

namespace Payrail.Reconciliation;

/// <summary>
/// Where a run's verdicts go once decided, in merge order: the items' COPY, the CSV and JSON reports and the result hash,
/// written on a task of their own so that they overlap with the merged read and the decisions (on 2 cores the run was one
/// busy thread: reading and deciding, then writing, a verdict at a time; measured with `bench reconcile`). Verdicts go
/// over in batches through a bounded channel: memory stays at most <see cref="MaxBatchesAhead"/> batches whatever the window.
/// The first write that fails stops the run (the next <see cref="AddAsync"/> throws it); a run that stops leaves the
/// items' transaction and the report files to their owners, which keep nothing of a run that did not complete.
/// </summary>
public sealed class VerdictArchive : IAsyncDisposable
{
    /// <summary>Verdicts handed over at once (one channel operation per batch, not per verdict).</summary>
    public const int BatchSize = 512;

    /// <summary>Batches decided ahead of the writer before the decisions wait for it.</summary>
    public const int MaxBatchesAhead = 8;

    private readonly Channel<List<LineVerdict>> _batches =
        Channel.CreateBounded<List<LineVerdict>>(new BoundedChannelOptions(MaxBatchesAhead) { SingleReader = true, SingleWriter = true });
    private readonly ItemsWriter _items;
    private readonly ReportFiles _files;
    private readonly Task _writer;
    private List<LineVerdict> _batch = new(BatchSize);

    public VerdictArchive(ItemsWriter items, ReportFiles files)
    {
        _items = items;
        _files = files;
        _writer = Task.Run(WriteAllAsync);
    }

    /// <summary>The result hash of every verdict archived so far (read it after <see cref="FlushAsync"/>).</summary>
    public ResultHash Hash { get; } = new();

    public async ValueTask AddAsync(LineVerdict verdict, CancellationToken cancellationToken)
    {
        _batch.Add(verdict);
        if (_batch.Count < BatchSize) return;
        await SendAsync(cancellationToken);
    }

    /// <summary>Every verdict added is written (items copied, reports and hash up to date) when this returns.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_batch.Count > 0) await SendAsync(cancellationToken);
        _batches.Writer.TryComplete();
        await _writer.WaitAsync(cancellationToken);
    }

    private async ValueTask SendAsync(CancellationToken cancellationToken)
    {
        var batch = _batch;
        _batch = new List<LineVerdict>(BatchSize);
        try
        {
            await _batches.Writer.WriteAsync(batch, cancellationToken);
        }
        catch (ChannelClosedException)
        {
            await _writer; // the writer failed and closed the channel: its exception is the run's
            throw;
        }
    }

    private async Task WriteAllAsync()
    {
        try
        {
            await foreach (var batch in _batches.Reader.ReadAllAsync())
            {
                foreach (var verdict in batch)
                {
                    _items.Write(verdict);
                    _files.Write(verdict);
                    Hash.Add(verdict);
                }
            }
        }
        catch (Exception e)
        {
            _batches.Writer.TryComplete(e);
            throw;
        }
    }

    /// <summary>Stops the writer (a run that failed before <see cref="FlushAsync"/>); its failure, if any, was the run's.</summary>
    public async ValueTask DisposeAsync()
    {
        _batches.Writer.TryComplete();
        try
        {
            await _writer;
        }
        catch (Exception)
        {
            // Already thrown to the run through AddAsync or FlushAsync, or the run failed first for its own reason.
        }
        Hash.Dispose();
    }
}

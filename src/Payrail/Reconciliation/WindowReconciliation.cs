using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Payrail.Outbox;
using Payrail.Payments;
using Payrail.Psp;

namespace Payrail.Reconciliation;

/// <summary>
/// One reconciliation run of a window (issue 13). The PSP's balance transactions of the window (widened by the clock
/// skew) stream page by page into the run's temporary table, checked line by line: a malformed or truncated page fails
/// the whole run before anything is decided. Then both sides stream out merged in key order, and each key is decided
/// by <see cref="LineMatching"/>; a line Payrail missed is replayed (<see cref="LineReplay"/>). The verdicts are written
/// (items, reports, result hash) by <see cref="VerdictArchive"/> on a task of its own, in merge order. Items and the run's
/// completion commit together; the CSV and JSON reports get their names once that commit is done; alerts go out after.
/// Memory is constant in the window's size: one key's lines at a time, a handful of totals.
/// </summary>
public sealed class WindowReconciliation(IPspConnector psp, ReconciliationStore store, LineReplay replay, PaymentStore payments,
    ReconciliationMetrics metrics, IOptions<ReconciliationOptions> options, TimeProvider clock, ILogger<WindowReconciliation> logger)
{
    /// <summary>Break lines logged one by one per run; the rest are counted in one line (the report has them all).</summary>
    private const int MaxBreakLogLines = 100;

    private readonly ReconciliationOptions _options = options.Value;

    public string Psp => psp.Name;

    /// <summary>Why a window cannot be reconciled (null: it can): empty, in the future, or longer than MaxWindow.</summary>
    public string? WindowProblem(ReconciliationWindow window)
    {
        if (window.To <= window.From) return "the window must end after it starts";
        if (window.To > clock.GetUtcNow()) return "the window ends in the future: the PSP's report of it is not complete";
        if (window.To - window.From > _options.MaxWindow)
            return $"the window is longer than Reconciliation:MaxWindow ({_options.MaxWindow}); split it";
        return null;
    }

    public async Task<ReconciliationReport> RunAsync(ReconciliationWindow window, string trigger, bool dryRun, CancellationToken cancellationToken)
    {
        if (WindowProblem(window) is { } problem) throw new ArgumentException(problem, nameof(window));
        var started = clock.GetUtcNow();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.RunTimeout);
        await using var session = await store.BeginAsync(psp.Name, window, trigger, dryRun, started, deadline.Token);
        ReconciliationReport report;
        List<LineVerdict> toAlert;
        try
        {
            (report, toAlert) = await ReconcileAsync(session, window, trigger, dryRun, started, deadline.Token);
        }
        catch (Exception e)
        {
            await store.FailAsync(session.Id, $"{e.GetType().Name}: {e.Message}", clock.GetUtcNow());
            metrics.Failed(clock.GetUtcNow() - started);
            logger.LogError("Reconciliation run {RunId} of {Window} failed ({Error}); nothing archived, a later run starts over",
                session.Id, window, e.GetType().Name);
            throw;
        }
        metrics.Run(report);
        PruneReports();
        if (report.Breaks > 0)
        {
            logger.LogError("Reconciliation {Summary}: {Breaks} breaks", report.Summary, report.Breaks);
            foreach (var d in report.LedgerDifferences)
            {
                logger.LogError("Reconciliation run {RunId}: ledger in {Currency} moved fee {LedgerFee} and net {LedgerNet}; the PSP reports fee {PspFee} and net {PspNet}",
                    report.RunId, d.CurrencyCode, d.LedgerFeeMinor, d.LedgerNetMinor, d.PspFeeMinor, d.PspNetMinor);
            }
            if (!dryRun) await RaiseAlertsAsync(report, toAlert, cancellationToken);
        }
        else logger.LogInformation("Reconciliation {Summary}", report.Summary);
        return report;
    }

    private async Task<(ReconciliationReport, List<LineVerdict>)> ReconcileAsync(RunSession session, ReconciliationWindow window, string trigger,
        bool dryRun, DateTimeOffset started, CancellationToken cancellationToken)
    {
        var read = new LineCounts();
        await session.StageAsync(PspLinesAsync(window, read, cancellationToken), cancellationToken);
        var readAt = clock.GetUtcNow();
        metrics.Phase(ReconciliationMetrics.ReadPhase, readAt - started);
        logger.LogInformation("Reconciliation run {RunId}: {Lines} PSP lines read in {ElapsedMs} ms", session.Id, read.Lines,
            (long)(readAt - started).TotalMilliseconds);
        await using var items = await store.OpenItemsAsync(session.Id, cancellationToken);
        await using var files = ReportFiles.Open(_options.ReportsDirectory, psp.Name, window, session.Id);
        await using var archive = new VerdictArchive(items, files);
        var run = new RunState(session.Id, dryRun, new MatchingClock(clock.GetUtcNow(), _options.TimingWindow, _options.SettlementGrace));
        var group = new List<PspLine>();
        PayrailLine? payrail = null;
        string? key = null;
        await foreach (var row in session.MergedAsync(window, _options.ClockSkew, cancellationToken))
        {
            if (key is not null && row.Key != key)
            {
                await DecideAsync(group, payrail, window, run, archive, cancellationToken);
                group.Clear();
                payrail = null;
            }
            if (key is null) run.FirstRowMs = (long)(clock.GetUtcNow() - started).TotalMilliseconds;
            key = row.Key;
            if (row.Psp is { } line)
            {
                if (group.Count >= _options.MaxLinesPerKey)
                    throw new MalformedPspReportException($"more than {_options.MaxLinesPerKey} PSP lines for {key}");
                group.Add(line);
            }
            else if (payrail is null) payrail = row.Payrail;
            else throw new InvalidOperationException($"two Payrail movements with key {key}");
        }
        if (key is not null) await DecideAsync(group, payrail, window, run, archive, cancellationToken);
        logger.LogInformation("Reconciliation run {RunId}: {Items} items decided by {ElapsedMs} ms (first merged row at {FirstMs} ms)",
            session.Id, run.Items, (long)(clock.GetUtcNow() - started).TotalMilliseconds, run.FirstRowMs);

        await archive.FlushAsync(cancellationToken);
        var differences = run.Tally.Differences();
        foreach (var d in differences) archive.Hash.Add(d);
        var report = new ReconciliationReport(session.Id, psp.Name, window, trigger, dryRun, started, clock.GetUtcNow() - started,
            read.Lines, read.Skipped, run.Items, run.Buckets, differences, run.Replays, archive.Hash.Finish(), null, null);
        await items.CompleteAsync(report, cancellationToken);
        var (csv, json) = await files.FinishAsync(report);
        metrics.Phase(ReconciliationMetrics.DecidePhase, clock.GetUtcNow() - readAt);
        return (report with { CsvPath = csv, JsonPath = json }, run.ToAlert);
    }

    private async Task DecideAsync(List<PspLine> group, PayrailLine? payrail, ReconciliationWindow window, RunState run, VerdictArchive archive,
        CancellationToken cancellationToken)
    {
        foreach (var decided in LineMatching.Decide(group, payrail, window, run.Clock))
        {
            var verdict = decided;
            if (verdict.Action != LineAction.None) verdict = await ReplayAsync(verdict, group[0], run, cancellationToken);
            if (verdict.Kind == LineKind.Fee && payrail?.AmountMinor is not null && group.Count > 0
                && verdict.Bucket is Buckets.Matched or Buckets.FeeMismatch)
                run.Tally.Add(group[0], payrail);
            run.Record(verdict);
            await archive.AddAsync(verdict, cancellationToken);
            if (!Buckets.IsBreak(verdict.Bucket)) continue;
            if (run.ToAlert.Count < _options.MaxAlertEventsPerRun) run.ToAlert.Add(verdict);
            if (++run.BreaksLogged <= MaxBreakLogLines)
            {
                logger.LogError("Reconciliation run {RunId}: {Bucket} {Key} (PSP line {PspLine}, payment {PaymentId}): {Reason}",
                    run.Id, verdict.Bucket, verdict.Key, verdict.PspLineId, verdict.PaymentId, verdict.Reason);
            }
        }
    }

    /// <summary>Deletes reports older than ReportRetention. A failure is logged: the run's own result stands.</summary>
    private void PruneReports()
    {
        try
        {
            var deleted = ReportFiles.Prune(_options.ReportsDirectory, (clock.GetUtcNow() - _options.ReportRetention).UtcDateTime);
            if (deleted > 0)
                logger.LogInformation("Reconciliation: {Deleted} reports older than {Retention} deleted from {Directory}", deleted,
                    _options.ReportRetention, _options.ReportsDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Reconciliation: old reports in {Directory} could not be deleted ({Error})", _options.ReportsDirectory, e.Message);
        }
    }

    private async Task<LineVerdict> ReplayAsync(LineVerdict verdict, PspLine line, RunState run, CancellationToken cancellationToken)
    {
        if (run.DryRun) return verdict with { Reason = verdict.Reason + "; not replayed (dry run)", Action = LineAction.None };
        if (run.Replays >= _options.MaxReplaysPerRun)
            return verdict with { Reason = verdict.Reason + "; not replayed (this run's replay budget is spent)", Action = LineAction.None };
        run.Replays++;
        return await replay.ReplayAsync(verdict, line, run.Id, cancellationToken);
    }

    /// <summary>
    /// One reconciliation.alert event per break, once per (key, bucket) ever: with the payment as it is now, or, for a line
    /// no Payrail payment stands for (a PSP charge Payrail never made, a duplicate of one), a version 2 event keyed by the
    /// PSP object (<see cref="OutboxEvent.PaymentlessAlert"/>).
    /// </summary>
    private async Task RaiseAlertsAsync(ReconciliationReport report, List<LineVerdict> breaks, CancellationToken cancellationToken)
    {
        var raised = 0;
        foreach (var verdict in breaks)
        {
            var payment = verdict.PaymentId is { } id ? await payments.FindAsync(id) : null;
            var now = clock.GetUtcNow();
            var snapshot = new ReconciliationSnapshot(report.RunId, report.Window.From, report.Window.To, verdict.Key, verdict.PspLineId,
                verdict.Bucket, verdict.Reason);
            var alert = payment is null
                ? OutboxEvent.PaymentlessAlert(psp.Name, LineKinds.Reference(verdict.Key), snapshot, now)
                : new OutboxEvent(Guid.CreateVersion7(now), EventTypes.ReconciliationAlert, payment.Id, payment.Version, now, null,
                    PaymentSnapshot.Of(payment, payment.Status)) { Reconciliation = snapshot };
            if (await store.RaiseAlertAsync(psp.Name, verdict, report.RunId, alert, cancellationToken)) raised++;
        }
        if (raised > 0) logger.LogWarning("Reconciliation run {RunId}: {Raised} reconciliation.alert events written", report.RunId, raised);
    }

    /// <summary>
    /// The PSP's lines of the window widened by the clock skew, as reconciliation compares them, each checked: a line it
    /// cannot read fails the run. Lines of kinds Payrail does not book (payouts, adjustments) are counted, not compared.
    /// </summary>
    private async IAsyncEnumerable<StagedLine> PspLinesAsync(ReconciliationWindow window, LineCounts counts,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var from = window.From - _options.ClockSkew;
        var to = window.To + _options.ClockSkew;
        await foreach (var line in ReadSlicesAsync(from, to, cancellationToken))
        {
            // The readers' listings are bounded one by one; the run's bound is on them all.
            if (++counts.Lines > _options.MaxLines)
                throw new InvalidOperationException($"More than {_options.MaxLines} PSP lines in {window}; reconcile a shorter window.");
            if (line.CreatedAt < from || line.CreatedAt >= to) throw Malformed(line, "created outside the window asked for");
            switch (line.Type)
            {
                case "charge":
                    var reference = Require(line, line.PspReference, "source.payment_intent");
                    var (amount, currency) = Source(line);
                    if (line.FeeMinor < 0 || line.NetMinor != line.AmountMinor - line.FeeMinor) throw Malformed(line, "net is not amount - fee");
                    yield return new StagedLine(new PspLine(LineKinds.Key(reference, LineKind.Charge), LineKind.Charge, line.Id, reference, amount,
                        currency, line.SourceStatus, line.NetMinor, line.CreatedAt, line.AvailableOn), line.FeeMinor, RequireCurrency(line, line.CurrencyCode));
                    break;
                case "refund" or "refund_failure":
                    var refund = Require(line, line.SourceId, "source");
                    var (refunded, refundCurrency) = Source(line);
                    var kind = line.Type == "refund" ? LineKind.Refund : LineKind.RefundFailure;
                    yield return new StagedLine(new PspLine(LineKinds.Key(refund, kind), kind, line.Id, refund, refunded, refundCurrency,
                        line.SourceStatus, line.NetMinor, line.CreatedAt, line.AvailableOn));
                    break;
                default:
                    counts.Skipped++;
                    break;
            }
        }
    }

    /// <summary>Lines a reader hands over at once: a PSP page (Stripe's 100).</summary>
    private const int ReadBatchLines = 100;

    /// <summary>
    /// The PSP's lines of [from, to), read by <see cref="ReconciliationOptions.PspReaders"/> listings at once, one per slice
    /// of the window, into one bounded buffer (in no particular order: the run's table is sorted when merged). The first
    /// reader that fails stops the others and fails the read; so does a caller that stops reading. Lines go through the
    /// buffer a page at a time: a hand-off per line (four writers and a reader on the channel's lock, a wake-up each)
    /// showed in the bench process's samples as lock contention worth about half of the pages' parsing.
    /// </summary>
    private async IAsyncEnumerable<PspSettlementLine> ReadSlicesAsync(DateTimeOffset from, DateTimeOffset to,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = Channel.CreateBounded<List<PspSettlementLine>>(
            new BoundedChannelOptions(Math.Max(1, _options.MaxReadAheadLines / ReadBatchLines)) { SingleReader = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var slices = WindowSlices.Cut(from, to, _options.PspReaders);
        var running = slices.Count;
        var readers = slices.Select(slice => Task.Run(async () =>
        {
            try
            {
                var batch = new List<PspSettlementLine>(ReadBatchLines);
                await foreach (var line in psp.ListSettlementLinesAsync(slice.From, slice.To, _options.MaxLines, stop.Token))
                {
                    batch.Add(line);
                    if (batch.Count < ReadBatchLines) continue;
                    await buffer.Writer.WriteAsync(batch, stop.Token);
                    batch = new List<PspSettlementLine>(ReadBatchLines);
                }
                if (batch.Count > 0) await buffer.Writer.WriteAsync(batch, stop.Token);
                if (Interlocked.Decrement(ref running) == 0) buffer.Writer.TryComplete();
            }
            catch (Exception e)
            {
                buffer.Writer.TryComplete(e);
                await stop.CancelAsync();
            }
        }, CancellationToken.None)).ToList();
        try
        {
            await foreach (var batch in buffer.Reader.ReadAllAsync(cancellationToken))
                foreach (var line in batch) yield return line;
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(readers); // each reader catches its own failure: this only waits for them to stop
        }
    }

    private static (long Amount, string Currency) Source(PspSettlementLine line) =>
        (line.SourceAmountMinor is { } amount && amount > 0 ? amount : throw Malformed(line, "its source has no positive amount"),
            RequireCurrency(line, line.SourceCurrencyCode));

    private static string RequireCurrency(PspSettlementLine line, string? code) =>
        code is { Length: 3 } && code.All(char.IsAsciiLetterUpper) ? code : throw Malformed(line, "no ISO currency");

    private static string Require(PspSettlementLine line, string? value, string field) =>
        string.IsNullOrEmpty(value) || value.Length > 255 ? throw Malformed(line, $"no {field}") : value;

    private static MalformedPspReportException Malformed(PspSettlementLine line, string why) =>
        new($"PSP line {(string.IsNullOrEmpty(line.Id) ? "(no id)" : line.Id)} of type {line.Type}: {why}");

    private sealed class LineCounts
    {
        public long Lines;
        public long Skipped;
    }

    /// <summary>What one run accumulates while it streams: constant size (a few counters, totals per currency, bounded alert list).</summary>
    private sealed class RunState(long id, bool dryRun, MatchingClock clock)
    {
        public long Id => id;
        public bool DryRun => dryRun;
        public MatchingClock Clock => clock;
        public Dictionary<string, long> Buckets { get; } = Reconciliation.Buckets.All.ToDictionary(b => b, _ => 0L);
        public LedgerTally Tally { get; } = new();
        public List<LineVerdict> ToAlert { get; } = [];
        public long Items;
        public long Replays;
        public int BreaksLogged;
        public long FirstRowMs;

        public void Record(LineVerdict verdict)
        {
            Buckets[verdict.Bucket]++;
            Items++;
        }
    }
}

using System.Diagnostics.Metrics;

namespace Payrail.Reconciliation;

/// <summary>The reconciliation's instruments (meter <c>Payrail.Reconciliation</c>).</summary>
public sealed class ReconciliationMetrics : IDisposable
{
    public const string MeterName = "Payrail.Reconciliation";
    public const string PhaseInstrument = "payrail.reconciliation.phase.duration";
    public const string ReadPhase = "read";
    public const string DecidePhase = "decide";

    private readonly Meter _meter;
    private readonly Counter<long> _items;
    private readonly Counter<long> _runs;
    private readonly Counter<long> _alerts;
    private readonly Histogram<double> _runSeconds;
    private readonly Histogram<double> _phaseSeconds;
    private long _lastBreaks;

    public ReconciliationMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _items = _meter.CreateCounter<long>("payrail.reconciliation.items", "{line}", "Lines a completed run decided, by bucket.");
        _runs = _meter.CreateCounter<long>("payrail.reconciliation.runs", "{run}", "Reconciliation runs, by outcome (ok, breaks, failed).");
        _alerts = _meter.CreateCounter<long>("payrail.reconciliation.alerts", "{alert}",
            "Breaks alerted (lines in a break bucket, currencies whose ledger differs), by bucket.");
        _runSeconds = _meter.CreateHistogram<double>("payrail.reconciliation.run.duration", "s", "One reconciliation run.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800] });
        _phaseSeconds = _meter.CreateHistogram<double>(PhaseInstrument, "s",
            "One phase of a run: read (the PSP's lines into the run's table), decide (merge, decide, items, reports, completion).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800] });
        _meter.CreateObservableGauge("payrail.reconciliation.last_breaks", () => Interlocked.Read(ref _lastBreaks), "{break}",
            "Breaks found by the last completed run (0: none, or no run since start).");
    }

    public void Run(ReconciliationReport report)
    {
        foreach (var (bucket, count) in report.Buckets)
        {
            if (count == 0) continue;
            _items.Add(count, new KeyValuePair<string, object?>("bucket", bucket));
            if (Buckets.IsBreak(bucket)) _alerts.Add(count, new KeyValuePair<string, object?>("bucket", bucket));
        }
        if (report.LedgerDifferences.Count > 0) _alerts.Add(report.LedgerDifferences.Count, new KeyValuePair<string, object?>("bucket", "ledger"));
        _runs.Add(1, new KeyValuePair<string, object?>("outcome", report.Breaks > 0 ? "breaks" : "ok"));
        _runSeconds.Record(report.Duration.TotalSeconds);
        Interlocked.Exchange(ref _lastBreaks, report.Breaks);
    }

    /// <summary>A phase ended (recorded as it ends: `bench reconcile` reads each process's CPU time at that moment).</summary>
    public void Phase(string phase, TimeSpan elapsed) =>
        _phaseSeconds.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("phase", phase));

    public void Failed(TimeSpan elapsed)
    {
        _runs.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
        _runSeconds.Record(elapsed.TotalSeconds);
    }

    public void Dispose() => _meter.Dispose();
}

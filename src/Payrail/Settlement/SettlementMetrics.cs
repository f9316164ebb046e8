using System.Diagnostics.Metrics;

namespace Payrail.Settlement;

/// <summary>The settlement's instruments (meter <c>Payrail.Settlement</c>).</summary>
public sealed class SettlementMetrics : IDisposable
{
    public const string MeterName = "Payrail.Settlement";

    private readonly Meter _meter;
    private readonly Counter<long> _charges;
    private readonly Counter<long> _runs;
    private readonly Histogram<double> _runSeconds;
    private long _lastRunUnixSeconds;

    public SettlementMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _charges = _meter.CreateCounter<long>("payrail.settlement.charges", "{charge}",
            "PSP charge balance transactions a run looked at, by outcome (settled, unchanged, not_yet_available, refused).");
        _runs = _meter.CreateCounter<long>("payrail.settlement.runs", "{run}", "Settlement runs, by outcome (ok, failed).");
        _runSeconds = _meter.CreateHistogram<double>("payrail.settlement.run.duration", "s", "One settlement run.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 600] });
        _meter.CreateObservableGauge("payrail.settlement.last_run", () => Interlocked.Read(ref _lastRunUnixSeconds), "s",
            "Unix time at which the last successful settlement run finished (0: none since start).");
    }

    public void Run(SettlementReport report)
    {
        Add("settled", report.Settled);
        Add("unchanged", report.Unchanged);
        Add("not_yet_available", report.NotYetAvailable);
        Add("refused", report.Refused);
        _runs.Add(1, new KeyValuePair<string, object?>("outcome", "ok"));
        _runSeconds.Record(report.Duration.TotalSeconds);
        Interlocked.Exchange(ref _lastRunUnixSeconds, (report.StartedAt + report.Duration).ToUnixTimeSeconds());
    }

    public void Failed(TimeSpan elapsed)
    {
        _runs.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
        _runSeconds.Record(elapsed.TotalSeconds);
    }

    private void Add(string outcome, int count)
    {
        if (count > 0) _charges.Add(count, new KeyValuePair<string, object?>("outcome", outcome));
    }

    public void Dispose() => _meter.Dispose();
}

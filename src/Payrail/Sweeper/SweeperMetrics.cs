using System.Diagnostics.Metrics;

namespace Payrail.Sweeper;

/// <summary>The sweeper's instruments (meter <c>Payrail.Sweeper</c>).</summary>
public sealed class SweeperMetrics : IDisposable
{
    public const string MeterName = "Payrail.Sweeper";

    private readonly Meter _meter;
    private readonly Counter<long> _resolutions;
    private readonly Counter<long> _checks;
    private readonly Counter<long> _events;
    private readonly Histogram<double> _sweepSeconds;
    private volatile IReadOnlyList<StuckCount> _stuck = [];

    public SweeperMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _resolutions = _meter.CreateCounter<long>("payrail.sweeper.resolutions", "{payment}",
            "Payments the sweeper moved out of initiated/processing/authorized, by cause (retrieve, resume_create, search, abandoned, authorization_expired, catch_up).");
        _checks = _meter.CreateCounter<long>("payrail.sweeper.checks", "{check}",
            "PSP checks of leased payments, by outcome (resolved, unresolved, failed).");
        _events = _meter.CreateCounter<long>("payrail.sweeper.catch_up.events", "{event}",
            "PSP events read by the catch-up, by outcome (applied, unchanged, orphan, skipped).");
        _sweepSeconds = _meter.CreateHistogram<double>("payrail.sweeper.sweep.duration", "s", "One sweep: stuck payments, expired authorizations, events catch-up.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300] });
        _meter.CreateObservableGauge("payrail.sweeper.stuck_payments", ObserveStuck, "{payment}",
            "Payments initiated or processing past Sweeper:Threshold at the last sweep, by status and age bucket (since their last change).");
    }

    public void Resolution(string cause) => _resolutions.Add(1, new KeyValuePair<string, object?>("cause", cause));

    public void Check(string outcome) => _checks.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void Event(string outcome) => _events.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void Sweep(TimeSpan elapsed, IReadOnlyList<StuckCount> stuck)
    {
        _sweepSeconds.Record(elapsed.TotalSeconds);
        _stuck = stuck;
    }

    private IEnumerable<Measurement<long>> ObserveStuck() => _stuck.Select(s => new Measurement<long>(s.Count,
        new KeyValuePair<string, object?>("status", s.Status), new KeyValuePair<string, object?>("age", s.AgeBucket)));

    public void Dispose() => _meter.Dispose();
}

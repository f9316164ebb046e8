using System.Diagnostics.Metrics;

namespace Payrail.Webhooks;

/// <summary>The receiver's instruments (meter <c>Payrail.Webhooks</c>): every delivery is counted once, refused or received.</summary>
public sealed class WebhookMetrics : IDisposable
{
    public const string MeterName = "Payrail.Webhooks";

    private readonly Meter _meter;
    private readonly Counter<long> _received;
    private readonly Counter<long> _refused;
    private readonly Histogram<double> _seconds;

    public WebhookMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _received = _meter.CreateCounter<long>("payrail.webhooks.received", "{delivery}",
            "Authentic webhook deliveries, by outcome: applied, stale, orphan, ignored, rejected, duplicate.");
        _refused = _meter.CreateCounter<long>("payrail.webhooks.refused", "{delivery}",
            "Webhook deliveries refused before anything was written (400/413), by reason: signature, timestamp, header, no_secret, too_large.");
        _seconds = _meter.CreateHistogram<double>("payrail.webhooks.duration", "s", "Verify and commit of one delivery, by outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
    }

    public void Received(string psp, string outcome, TimeSpan elapsed)
    {
        _received.Add(1, new KeyValuePair<string, object?>("psp", psp), new KeyValuePair<string, object?>("outcome", outcome));
        _seconds.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));
    }

    public void Refused(string psp, string reason) =>
        _refused.Add(1, new KeyValuePair<string, object?>("psp", psp), new KeyValuePair<string, object?>("reason", reason));

    public void Dispose() => _meter.Dispose();
}

using System.Diagnostics.Metrics;

namespace Payrail.Payments;

/// <summary>The payment service's own instruments (meter <c>Payrail.Payments</c>); HTTP request metrics come from ASP.NET Core.</summary>
public sealed class PaymentMetrics : IDisposable
{
    public const string MeterName = "Payrail.Payments";
    public const string PspAnswerMismatchesName = "payrail.psp.answer_mismatches";

    private readonly Meter _meter;
    private readonly Counter<long> _idempotencyOutcomes;
    private readonly Counter<long> _payments;
    private readonly Histogram<double> _pspCallSeconds;
    private readonly Counter<long> _transientRetries;
    private readonly Counter<long> _pspAnswerMismatches;

    public PaymentMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _idempotencyOutcomes = _meter.CreateCounter<long>("payrail.idempotency.outcomes", "{request}",
            "Idempotency decisions: fresh, replayed, conflict, mismatch, takeover.");
        _payments = _meter.CreateCounter<long>("payrail.payments", "{payment}", "Payments answered, by resulting status.");
        _pspCallSeconds = _meter.CreateHistogram<double>("payrail.psp.call.duration", "s", "PSP call latency.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        _transientRetries = _meter.CreateCounter<long>("payrail.payments.transient_retries", "{retry}",
            "Transaction 2 sent again after PostgreSQL rolled it back (deadlock, serialization failure), by SQLSTATE.");
        _pspAnswerMismatches = _meter.CreateCounter<long>(PspAnswerMismatchesName, "{answer}",
            "PSP answers that disagree with the payment (reference, currency, amounts), by first field found; the payment stays processing.");
    }

    public void Idempotency(string outcome) => _idempotencyOutcomes.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void Payment(string status) => _payments.Add(1, new KeyValuePair<string, object?>("status", status));

    public void PspCall(string operation, string outcome, TimeSpan elapsed) =>
        _pspCallSeconds.Record(elapsed.TotalSeconds,
            new KeyValuePair<string, object?>("operation", operation), new KeyValuePair<string, object?>("outcome", outcome));

    public void TransientRetry(string sqlState) => _transientRetries.Add(1, new KeyValuePair<string, object?>("sqlstate", sqlState));
    public void PspAnswerMismatch(string field) => _pspAnswerMismatches.Add(1, new KeyValuePair<string, object?>("field", field));

    public void Dispose() => _meter.Dispose();
}

public static class IdempotencyOutcome
{
    public const string Fresh = "fresh";
    public const string Replayed = "replayed";
    public const string Conflict = "conflict";
    public const string Mismatch = "mismatch";
    public const string Takeover = "takeover";
}

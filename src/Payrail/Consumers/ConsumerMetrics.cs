using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Payrail.Consumers;

/// <summary>
/// The consumers' metrics (meter <c>Payrail.Consumers</c>): lag per group, messages by outcome, dead letters, retries and
/// handler latency, batch sizes and commit → effect lag. Lag is what each loop last measured; a loop that stops reporting
/// keeps its last value.
/// </summary>
public sealed class ConsumerMetrics
{
    public const string MeterName = "Payrail.Consumers";

    private readonly ConcurrentDictionary<string, long> _lag = new(StringComparer.Ordinal);
    private readonly Counter<long> _messages;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _retries;
    private readonly Histogram<double> _handlerMs;
    private readonly Histogram<long> _batchSize;
    private readonly Histogram<double> _effectLagMs;
    private readonly TimeProvider _clock;

    public ConsumerMetrics(IMeterFactory meters, TimeProvider clock)
    {
        _clock = clock;
        var meter = meters.Create(MeterName);
        _messages = meter.CreateCounter<long>("payrail.consumer.messages", "{message}",
            "Messages handled, by consumer and outcome (applied, duplicate, ignored, unknown_type, dead_lettered).");
        _deadLettered = meter.CreateCounter<long>("payrail.consumer.dead_lettered", "{message}",
            "Messages sent to the dead-letter topic, by consumer and reason.");
        _retries = meter.CreateCounter<long>("payrail.consumer.retries", "{attempt}", "Failed attempts that were retried.");
        _handlerMs = meter.CreateHistogram<double>("payrail.consumer.handler_duration", "ms",
            "One batch (or one message alone): inbox claims, effects, commit and after-commit effects.");
        _batchSize = meter.CreateHistogram<long>("payrail.consumer.batch_size", "{message}",
            "Messages per transaction (a batch, or 1 when a failed batch's events are tried one at a time).");
        _effectLagMs = meter.CreateHistogram<double>("payrail.consumer.effect_lag", "ms",
            "From the payment change (the event's occurred_at, taken just before that change commits) to the commit of its effect.");
        meter.CreateObservableGauge("payrail.consumer.lag", () => _lag.Select(pair =>
            new Measurement<long>(pair.Value, new KeyValuePair<string, object?>("consumer", pair.Key))), "{message}",
            "Messages on the topic not yet handled by the consumer's group (high watermark minus position, assigned partitions).");
    }

    public void Message(string consumer, string outcome) => Messages(consumer, outcome, 1);

    public void Messages(string consumer, string outcome, int count)
    {
        if (count > 0) _messages.Add(count, Tag("consumer", consumer), Tag("outcome", outcome));
    }

    public void Batch(string consumer, int messages, TimeSpan elapsed)
    {
        _batchSize.Record(messages, Tag("consumer", consumer));
        HandlerDuration(consumer, elapsed);
    }

    public void EffectLag(string consumer, DateTimeOffset occurredAt) =>
        _effectLagMs.Record(Math.Max(0, (_clock.GetUtcNow() - occurredAt).TotalMilliseconds), Tag("consumer", consumer));

    public void DeadLettered(string consumer, string reason)
    {
        _deadLettered.Add(1, Tag("consumer", consumer), Tag("reason", reason));
        Message(consumer, "dead_lettered");
    }

    public void Retry(string consumer) => _retries.Add(1, Tag("consumer", consumer));

    public void HandlerDuration(string consumer, TimeSpan elapsed) => _handlerMs.Record(elapsed.TotalMilliseconds, Tag("consumer", consumer));

    public void ReportLag(string consumer, long lag) => _lag[consumer] = lag;

    private static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);
}

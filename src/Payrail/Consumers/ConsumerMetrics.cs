using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Payrail.Consumers;

/// <summary>
/// The consumers' metrics (meter <c>Payrail.Consumers</c>): lag per group, messages by outcome, dead letters, retries and
/// handler latency. Lag is what each loop last measured; a loop that stops reporting keeps its last value.
/// </summary>
public sealed class ConsumerMetrics
{
    public const string MeterName = "Payrail.Consumers";

    private readonly ConcurrentDictionary<string, long> _lag = new(StringComparer.Ordinal);
    private readonly Counter<long> _messages;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _retries;
    private readonly Histogram<double> _handlerMs;

    public ConsumerMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _messages = meter.CreateCounter<long>("payrail.consumer.messages", "{message}",
            "Messages handled, by consumer and outcome (applied, duplicate, ignored, unknown_type, dead_lettered).");
        _deadLettered = meter.CreateCounter<long>("payrail.consumer.dead_lettered", "{message}",
            "Messages sent to the dead-letter topic, by consumer and reason.");
        _retries = meter.CreateCounter<long>("payrail.consumer.retries", "{attempt}", "Failed attempts that were retried.");
        _handlerMs = meter.CreateHistogram<double>("payrail.consumer.handler_duration", "ms",
            "One message: inbox claim, effect, commit and after-commit effect.");
        meter.CreateObservableGauge("payrail.consumer.lag", () => _lag.Select(pair =>
            new Measurement<long>(pair.Value, new KeyValuePair<string, object?>("consumer", pair.Key))), "{message}",
            "Messages on the topic not yet handled by the consumer's group (high watermark minus position, assigned partitions).");
    }

    public void Message(string consumer, string outcome) => _messages.Add(1, Tag("consumer", consumer), Tag("outcome", outcome));

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

using System.Text;
using CloudNative.CloudEvents;
using Confluent.Kafka;

namespace Payrail.Outbox;

/// <summary>
/// One outbox row as a Kafka message of <c>payments.v1</c>: key = payment id (so a payment's events share a partition
/// and keep their order), CloudEvents 1.0 in Kafka binary mode (attributes in <c>ce_*</c> headers, the data content type
/// in <c>content-type</c>, the <see cref="OutboxEvent"/> JSON as the body) and W3C trace context in <c>traceparent</c>.
/// The header names and formats are those of the CloudEvents Kafka protocol binding; the SDK's own Kafka package is not
/// among the project's pinned packages, so this writes the few headers it would write.
/// </summary>
public static class PaymentsTopicMessage
{
    /// <summary><c>ce_source</c> of every event: the payment service (a URI reference, as CloudEvents asks).</summary>
    public static readonly Uri Source = new("/payrail/payments", UriKind.Relative);

    public const string ContentType = "application/json";
    public const string HeaderPrefix = "ce_";
    public const string ContentTypeHeader = "content-type";
    public const string TraceParentHeader = "traceparent";

    /// <summary>The message for <paramref name="row"/>; its body is the contract's JSON with <c>schema_version</c> first.</summary>
    public static Message<string, byte[]> For(OutboxRow row)
    {
        var cloudEvent = new CloudEvent(CloudEventsSpecVersion.V1_0)
        {
            Id = row.Id.ToString(),
            Type = row.EventType,
            Source = Source,
            Subject = row.AggregateId.ToString(),
            Time = row.OccurredAt,
            DataContentType = ContentType,
        };
        var headers = new Headers { { HeaderPrefix + "specversion", Encoding.UTF8.GetBytes(cloudEvent.SpecVersion.VersionId) } };
        foreach (var (attribute, value) in cloudEvent.GetPopulatedAttributes())
        {
            var name = attribute == cloudEvent.SpecVersion.DataContentTypeAttribute ? ContentTypeHeader : HeaderPrefix + attribute.Name;
            headers.Add(name, Encoding.UTF8.GetBytes(attribute.Format(value)));
        }
        headers.Add(TraceParentHeader, Encoding.UTF8.GetBytes(TraceParent(row.Id)));
        return new Message<string, byte[]> { Key = row.AggregateId.ToString(), Value = Body(row), Headers = headers };
    }

    /// <summary>
    /// The event's trace: its trace id is the event id (both 16 bytes), so a redelivered duplicate and every consumer's
    /// handling of it fall into one trace. The outbox keeps no request trace to continue (no column for it yet).
    /// </summary>
    public static string TraceParent(Guid eventId)
    {
        Span<byte> bytes = stackalloc byte[16];
        eventId.TryWriteBytes(bytes, bigEndian: true, out _);
        var traceId = Convert.ToHexStringLower(bytes);
        // The span id (the relay's publication) is the trace id's second half: stable across redeliveries, never all zero.
        var spanId = traceId[16..];
        return $"00-{traceId}-{(spanId == "0000000000000000" ? "0000000000000001" : spanId)}-01";
    }

    /// <summary>
    /// jsonb forgets key order, so the stored payload is read back and written again in the contract's order
    /// (<c>schema_version</c> first). A payload that does not parse is sent as stored: the consumers' dead-letter path
    /// is where a bad event is dealt with, and holding it here would stall its payment forever.
    /// </summary>
    private static byte[] Body(OutboxRow row)
    {
        OutboxEvent? parsed;
        try
        {
            parsed = OutboxEvent.FromJson(row.Payload);
        }
        catch (System.Text.Json.JsonException)
        {
            parsed = null;
        }
        // Straight to UTF-8: the string in between was a second copy of every body (allocations per event, README
        // "The worker's CPU per event"); the bytes are the same.
        return parsed is null ? Encoding.UTF8.GetBytes(row.Payload)
            : System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(parsed, OutboxJsonContext.Default.OutboxEvent);
    }
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Payrail.Domain.Payments;
using Payrail.Payments;

namespace Payrail.Outbox;

/// <summary>
/// The one event contract of topic <c>payments.v1</c>: the body of every outbox row, relayed as is and read by every
/// consumer (DESIGN.md "Events and Kafka"). Versioned from now on: adding a field keeps <see cref="SchemaVersion"/>;
/// renaming, removing or changing the meaning of one needs a new version that consumers learn first.
/// </summary>
public sealed record OutboxEvent(
    Guid Id,
    string Type,
    Guid PaymentId,
    int PaymentVersion,
    DateTimeOffset OccurredAt,
    string? PreviousStatus,
    PaymentSnapshot Payment)
{
    public const int CurrentSchemaVersion = 1;

    /// <summary>
    /// Version 2: an event about no payment (issue 13: a <c>reconciliation.alert</c> about a PSP line Payrail has no payment
    /// for). <c>payment</c> is null and <c>payment_id</c> holds its subject instead, a name-based id of the PSP object
    /// (<see cref="SubjectId"/>): the Kafka key, so every alert about that object keeps its order. Its own version
    /// because a field every version 1 reader relies on is absent: a reader that has not learnt it dead-letters the event
    /// (never loses it), and events about a payment stay version 1.
    /// </summary>
    public const int PaymentlessSchemaVersion = 2;

    /// <summary>First on the wire, so a consumer can pick its reader before it reads anything else.</summary>
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>
    /// The refund a <c>payment.refunded</c> event announces (one event per succeeded refund, partial ones included), or the
    /// refund a <c>payment.refund_reversed</c> event takes back; absent on every other event. Added within schema 1: an
    /// optional field a consumer of version 1 may ignore (as it ignores an event type it does not handle).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public RefundSnapshot? Refund { get; init; }

    /// <summary>
    /// The break a <c>reconciliation.alert</c> event announces about this payment (issue 13); absent on every other event.
    /// Added within schema 1, as <see cref="Refund"/>.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ReconciliationSnapshot? Reconciliation { get; init; }

    /// <summary>False only on a version 2 event (<see cref="PaymentlessSchemaVersion"/>), whose <see cref="Payment"/> is null.</summary>
    [JsonIgnore]
    public bool HasPayment => Payment is not null;

    /// <summary>
    /// A <c>reconciliation.alert</c> about a PSP object Payrail has no payment for (version 2): no snapshot, the subject's
    /// id as <see cref="PaymentId"/> (and outbox aggregate).
    /// </summary>
    public static OutboxEvent PaymentlessAlert(string psp, string pspObject, ReconciliationSnapshot reconciliation, DateTimeOffset now) =>
        new(Guid.CreateVersion7(now), EventTypes.ReconciliationAlert, SubjectId(psp, pspObject), 0, now, null, null!)
        {
            SchemaVersion = PaymentlessSchemaVersion,
            Reconciliation = reconciliation,
        };

    /// <summary>
    /// The stable id of a PSP object no payment stands for: SHA-256 of (PSP, object id) as a version 8 UUID (RFC 9562), the
    /// same on every run, so re-runs and overlapping windows key that object's alerts alike.
    /// </summary>
    public static Guid SubjectId(string psp, string pspObject)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"payrail-psp-object\n{psp}\n{pspObject}"));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }

    public string ToJson() => JsonSerializer.Serialize(this, OutboxJsonContext.Default.OutboxEvent);

    public static OutboxEvent? FromJson(string json) => JsonSerializer.Deserialize(json, OutboxJsonContext.Default.OutboxEvent);

    /// <summary>
    /// An event about <paramref name="payment"/> as it is after the change at <paramref name="step"/> (null for its creation).
    /// Every event of one change carries the version that change wrote; the snapshot's status is the step's.
    /// </summary>
    public static OutboxEvent For(string type, PaymentRecord payment, TransitionStep? step, DateTimeOffset now) =>
        new(Guid.CreateVersion7(now), type, payment.Id, payment.Version, now, step?.From.ToWire(),
            PaymentSnapshot.Of(payment, step?.To ?? payment.Status));
}

/// <summary>
/// The payment as an event shows it: the API resource's fields (same wire names) without description and metadata, which
/// are the merchant's free text and would spread to every consumer's store.
/// </summary>
public sealed record PaymentSnapshot(
    Guid Id,
    string Status,
    [property: JsonPropertyName("amount")] long AmountMinor,
    string Currency,
    string MerchantId,
    string BuyerId,
    string Capture,
    string? Psp,
    string? PspReference,
    [property: JsonPropertyName("amount_captured")] long AmountCapturedMinor,
    [property: JsonPropertyName("amount_refunded")] long AmountRefundedMinor,
    string? FailureCode,
    string? FailureMessage,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static PaymentSnapshot Of(PaymentRecord payment, PaymentStatus status) =>
        new(payment.Id, status.ToWire(), payment.AmountMinor, payment.CurrencyCode, payment.MerchantId, payment.BuyerId,
            payment.CaptureWire, payment.Psp, payment.PspReference, payment.AmountCapturedMinor, payment.AmountRefundedMinor,
            payment.FailureCode, payment.FailureMessage, payment.CreatedAt, payment.UpdatedAt);
}

/// <summary>The refund of a <c>payment.refunded</c> or <c>payment.refund_reversed</c> event: its id and its own amount (the payment's total is in the snapshot).</summary>
public sealed record RefundSnapshot(Guid Id, [property: JsonPropertyName("amount")] long AmountMinor);

/// <summary>A reconciliation break: the run and window that found it, the line's key and PSP line, its bucket and why.</summary>
public sealed record ReconciliationSnapshot(
    long RunId,
    DateTimeOffset WindowFrom,
    DateTimeOffset WindowTo,
    string MatchKey,
    string? PspLine,
    string Bucket,
    string Reason);

/// <summary>snake_case names, explicit nulls (a consumer sees every field of its version) and the API's timestamps.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never, Converters = [typeof(UtcMicrosecondsConverter)])]
[JsonSerializable(typeof(OutboxEvent))]
internal sealed partial class OutboxJsonContext : JsonSerializerContext;

/// <summary>UTC with microseconds and a Z, as the API and PostgreSQL print them (<see cref="PaymentRecord.Timestamp"/>).</summary>
internal sealed class UtcMicrosecondsConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        DateTimeOffset.Parse(reader.GetString() ?? throw new JsonException("a timestamp is null"), CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(PaymentRecord.Timestamp(value));
}

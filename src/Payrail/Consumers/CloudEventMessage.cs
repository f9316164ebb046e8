using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Payrail.Domain.Money;
using Payrail.Outbox;

namespace Payrail.Consumers;

/// <summary>What a message on <c>payments.v1</c> turned out to be, before any handler sees it.</summary>
public enum MessageKind
{
    /// <summary>A known event type whose body is a valid <see cref="OutboxEvent"/> agreeing with its headers.</summary>
    Event,

    /// <summary>CloudEvents headers present, but a type this worker does not know: skipped and counted.</summary>
    UnknownType,

    /// <summary>A required CloudEvents header is missing: it cannot be identified, so it goes to the dead-letter topic.</summary>
    MissingHeaders,

    /// <summary>Headers fine, body not a valid event of a version we read: dead-letter topic.</summary>
    Unparsable,
}

/// <summary>A message read as a CloudEvents 1.0 binary-mode event (headers <c>ce_*</c>, JSON body = the outbox contract).</summary>
public sealed record CloudEventMessage(MessageKind Kind, string? Type, OutboxEvent? Event, string? Problem)
{
    public const string IdHeader = "ce_id";
    public const string TypeHeader = "ce_type";
    public const string SourceHeader = "ce_source";
    public const string SpecVersionHeader = "ce_specversion";
    public const string TimeHeader = "ce_time";
    public const string SpecVersion = "1.0";

    /// <summary>A bound on a header we read: a producer's bug must not make us hold megabytes per message.</summary>
    private const int MaxHeaderBytes = 1_024;

    /// <summary>Throws on invalid bytes instead of replacing them; stateless, so one serves every header of every message.</summary>
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    public static CloudEventMessage Read(Headers? headers, byte[]? body)
    {
        var id = Header(headers, IdHeader);
        var type = Header(headers, TypeHeader);
        var source = Header(headers, SourceHeader);
        var spec = Header(headers, SpecVersionHeader);
        if (id is null || type is null || source is null || spec is null)
            return new(MessageKind.MissingHeaders, type, null, "a required CloudEvents header (ce_id, ce_type, ce_source, ce_specversion) is missing");
        if (spec != SpecVersion) return new(MessageKind.Unparsable, type, null, "ce_specversion is not 1.0");
        if (!EventTypes.All.Contains(type)) return new(MessageKind.UnknownType, type, null, null);
        if (!Guid.TryParse(id, out var eventId)) return new(MessageKind.Unparsable, type, null, "ce_id is not a uuid");

        OutboxEvent? parsed;
        try
        {
            parsed = body is null ? null : JsonSerializer.Deserialize(body, OutboxJsonContext.Default.OutboxEvent);
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException)
        {
            return new(MessageKind.Unparsable, type, null, "the body is not a valid event: " + e.GetType().Name);
        }
        var problem = parsed is null ? "the body is empty or null" : Check(parsed, eventId, type);
        return problem is null ? new(MessageKind.Event, type, parsed, null) : new(MessageKind.Unparsable, type, null, problem);
    }

    /// <summary>The invariants every handler relies on, checked once where the event enters (and named when broken).</summary>
    private static string? Check(OutboxEvent e, Guid headerId, string headerType)
    {
        if (e.SchemaVersion is not (OutboxEvent.CurrentSchemaVersion or OutboxEvent.PaymentlessSchemaVersion))
            return $"schema_version {e.SchemaVersion} is not one this consumer reads";
        if (e.Id != headerId) return "the body's id differs from ce_id";
        if (e.Type != headerType) return "the body's type differs from ce_type";
        if (e.SchemaVersion == OutboxEvent.PaymentlessSchemaVersion) return CheckPaymentless(e);
        var p = e.Payment;
        if (p is null) return "the body has no payment";
        if (p.Id != e.PaymentId) return "payment.id differs from payment_id";
        if (!Currency.TryFromCode(p.Currency, out _)) return "payment.currency is not a known currency";
        if (p.AmountMinor <= 0 || p.AmountCapturedMinor < 0 || p.AmountCapturedMinor > p.AmountMinor
            || p.AmountRefundedMinor < 0 || p.AmountRefundedMinor > p.AmountCapturedMinor)
            return "payment amounts are out of range";
        if (string.IsNullOrEmpty(p.MerchantId) || string.IsNullOrEmpty(p.BuyerId) || string.IsNullOrEmpty(p.Status))
            return "payment.merchant_id, buyer_id or status is empty";
        return null;
    }

    /// <summary>Version 2: a reconciliation alert about no payment; its subject and break are all a handler may read.</summary>
    private static string? CheckPaymentless(OutboxEvent e)
    {
        if (e.Type != EventTypes.ReconciliationAlert) return "schema_version 2 is only for reconciliation.alert";
        if (e.HasPayment) return "a schema_version 2 event carries no payment";
        if (e.PaymentId == Guid.Empty) return "payment_id (the alert's subject) is empty";
        var r = e.Reconciliation;
        if (r is null || string.IsNullOrEmpty(r.MatchKey) || string.IsNullOrEmpty(r.Bucket)) return "reconciliation, its match_key or bucket is missing";
        return null;
    }

    private static string? Header(Headers? headers, string name)
    {
        if (headers is null || !headers.TryGetLastBytes(name, out var bytes) || bytes is null || bytes.Length > MaxHeaderBytes) return null;
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}

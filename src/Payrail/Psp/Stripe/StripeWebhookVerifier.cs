using Stripe;

namespace Payrail.Psp.Stripe;

/// <summary>
/// Verifies <c>Stripe-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "{t}.{body}"&gt;[,v1=...]</c>
/// with Stripe.net's <see cref="EventUtility.ValidateSignature(string,string,string,long,long)"/>
/// (constant-time compare, any of several v1 values, |now − t| ≤ tolerance), trying each configured
/// secret so a secret can be rotated: during the rotation both old and new verify.
/// </summary>
internal static class StripeWebhookVerifier
{
    /// <summary>Bounds the work an unauthenticated caller can make us do.</summary>
    private const int MaxHeaderLength = 4096;

    /// <summary>Stripe's ids are far shorter; the bound is the column's (migration 0013).</summary>
    private const int MaxIdLength = 255;

    /// <summary>The metadata key every authorization sets (Payments/PaymentCreation.cs): how a webhook finds its payment.</summary>
    public const string PayrailPaymentIdKey = "payrail_payment_id";

    public static PspWebhookEvent Parse(string body, string signatureHeader, DateTimeOffset now, IReadOnlyList<string> secrets, int toleranceSeconds)
    {
        if (string.IsNullOrEmpty(body)) throw new PspWebhookRejectedException("empty webhook body", PspWebhookRejectedException.HeaderCode);
        if (string.IsNullOrWhiteSpace(signatureHeader) || signatureHeader.Length > MaxHeaderLength)
            throw new PspWebhookRejectedException("missing or oversized Stripe-Signature header", PspWebhookRejectedException.HeaderCode);
        if (secrets.Count == 0)
            throw new PspWebhookRejectedException("no webhook secret configured: every webhook is refused", PspWebhookRejectedException.NoSecretCode);

        var verified = false;
        foreach (var secret in secrets.Take(StripeConnectorOptions.MaxWebhookSecrets))
        {
            if (TryValidate(body, signatureHeader, secret, toleranceSeconds, now.ToUnixTimeSeconds(), out var reason, out var code))
            {
                verified = true;
                break;
            }
            // A stale or malformed header fails the same way with every secret: stop early, say why.
            if (reason is not null) throw new PspWebhookRejectedException(reason, code);
        }
        if (!verified) throw new PspWebhookRejectedException("no valid signature for any configured webhook secret");

        return ToWebhookEvent(body);
    }

    /// <returns>true when verified; false with reason null when the signature did not match this secret.</returns>
    private static bool TryValidate(
        string body, string header, string secret, int toleranceSeconds, long nowUnix, out string? reason, out string code)
    {
        reason = null;
        code = PspWebhookRejectedException.SignatureCode;
        if (!HasWellFormedTimestamp(header, out var timestamp))
        {
            reason = "malformed Stripe-Signature header (t=<unix seconds> required)";
            code = PspWebhookRejectedException.HeaderCode;
            return false;
        }
        try
        {
            EventUtility.ValidateSignature(body, header, secret, toleranceSeconds, nowUnix);
            return true;
        }
        catch (StripeException) when (Math.Abs(nowUnix - timestamp) > toleranceSeconds)
        {
            // No secret can make this one valid: stale (a replay) or forged, refused either way.
            reason = "webhook timestamp outside the tolerance window (stale or replayed)";
            code = PspWebhookRejectedException.TimestampCode;
            return false;
        }
        catch (StripeException)
        {
            return false;
        }
    }

    /// <summary>Stripe.net converts t with Convert.ToInt32 and would throw a non-Stripe exception on junk; check first.</summary>
    private static bool HasWellFormedTimestamp(string header, out long timestamp)
    {
        timestamp = 0;
        var found = 0;
        foreach (var item in header.Split(','))
        {
            var parts = item.Trim().Split('=', 2);
            if (parts.Length != 2) return false;
            if (parts[0] != "t") continue;
            found++;
            if (!int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)) return false;
            timestamp = seconds;
        }
        return found == 1;
    }

    private static PspWebhookEvent ToWebhookEvent(string body)
    {
        Event stripeEvent;
        try
        {
            // The API version is the PSP's business; Payrail reads only stable fields.
            stripeEvent = EventUtility.ParseEvent(body, throwOnApiVersionMismatch: false);
        }
        catch (Exception e) when (e is Newtonsoft.Json.JsonException or System.Text.Json.JsonException or StripeException or ArgumentException or InvalidCastException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            throw Malformed("malformed webhook body");
        }
        if (stripeEvent is null || string.IsNullOrEmpty(stripeEvent.Id) || string.IsNullOrEmpty(stripeEvent.Type))
            throw Malformed("webhook without event id or type");
        if (stripeEvent.Id.Length > MaxIdLength || stripeEvent.Type.Length > MaxIdLength) throw Malformed("webhook event id or type too long");

        PspPayment? payment;
        try
        {
            payment = stripeEvent.Data?.Object is PaymentIntent intent ? StripeMapping.ToPayment(intent) : null;
        }
        catch (StripeAmountException)
        {
            // Booking a rounded amount would put a wrong number in the books: the event is kept, as rejected.
            throw Malformed("webhook amount not convertible to ISO minor units");
        }
        var (reference, metadata) = stripeEvent.Data?.Object switch
        {
            PaymentIntent pi => (pi.Id, pi.Metadata),
            Charge charge => (charge.PaymentIntentId, charge.Metadata),
            Refund refund => (refund.PaymentIntentId, refund.Metadata),
            _ => (null, null),
        };
        PspRefund? refundSnapshot;
        try
        {
            refundSnapshot = stripeEvent.Data?.Object is Refund r && !string.IsNullOrEmpty(r.Id) ? StripeMapping.ToRefund(r, reference ?? "") : null;
        }
        catch (StripeAmountException)
        {
            throw Malformed("webhook amount not convertible to ISO minor units");
        }
        return new PspWebhookEvent(stripeEvent.Id, stripeEvent.Type, reference, payment, StripeConnector.Utc(stripeEvent.Created))
        {
            MetadataPaymentId = metadata is not null && metadata.TryGetValue(PayrailPaymentIdKey, out var id) ? id : null,
            Refund = refundSnapshot,
        };
    }

    /// <summary>Signed with a valid secret, but not an event Payrail can read.</summary>
    private static PspWebhookRejectedException Malformed(string reason) =>
        new(reason, PspWebhookRejectedException.MalformedCode, authentic: true);
}

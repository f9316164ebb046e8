using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Stripe;

namespace Payrail.Psp.Stripe;

/// <summary>
/// Verifies <c>Stripe-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "{t}.{body}"&gt;[,v1=...]</c>
/// as Stripe.net's <see cref="EventUtility.ValidateSignature(string,string,string,long,long)"/> does (lower-case hex
/// compared in constant time, any of several v1 values, |now − t| ≤ tolerance), trying each configured secret so a
/// secret can be rotated: during the rotation both old and new verify. The signed bytes are encoded once into a pooled
/// buffer for every secret (Stripe.net built "{t}.{body}" as a string, its bytes and the hex as strings per secret).
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

        if (!HasWellFormedTimestamp(signatureHeader, out var timestamp, out var timestampText))
            throw new PspWebhookRejectedException("malformed Stripe-Signature header (t=<unix seconds> required)", PspWebhookRejectedException.HeaderCode);
        // Stripe.net checks the age after the signature; the answer is the same (a stale delivery is refused whoever
        // signed it), and a replayed or forged one costs no HMAC.
        if (Math.Abs(now.ToUnixTimeSeconds() - timestamp) > toleranceSeconds)
            throw new PspWebhookRejectedException("webhook timestamp outside the tolerance window (stale or replayed)", PspWebhookRejectedException.TimestampCode);
        var signatures = Signatures(signatureHeader);
        var verified = false;
        var signed = SignedBytes(timestampText, body, out var signedLength);
        try
        {
            foreach (var secret in secrets.Take(StripeConnectorOptions.MaxWebhookSecrets))
            {
                if (!Matches(signed.AsSpan(0, signedLength), secret, signatures)) continue;
                verified = true;
                break;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(signed);
        }
        if (!verified) throw new PspWebhookRejectedException("no valid signature for any configured webhook secret");

        return ToWebhookEvent(body);
    }

    /// <summary>
    /// Exactly one <c>t</c> that fits an int (Stripe.net converts it with Convert.ToInt32), every item a key=value pair.
    /// The text of t is what was signed, as sent.
    /// </summary>
    private static bool HasWellFormedTimestamp(string header, out long timestamp, out string timestampText)
    {
        timestamp = 0;
        timestampText = "";
        var found = 0;
        foreach (var item in header.Split(','))
        {
            var parts = item.Trim().Split('=', 2);
            if (parts.Length != 2) return false;
            if (parts[0] != "t") continue;
            found++;
            if (!int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)) return false;
            timestamp = seconds;
            timestampText = parts[1];
        }
        return found == 1;
    }

    /// <summary>The header's v1 values (each item trimmed, split at its first '=', as Stripe.net parses it).</summary>
    private static List<string> Signatures(string header)
    {
        var values = new List<string>(1);
        foreach (var item in header.Trim().Split(','))
        {
            var parts = item.Trim().Split('=', 2);
            if (parts.Length == 2 && parts[0] == "v1") values.Add(parts[1]);
        }
        return values;
    }

    /// <summary>UTF-8 of "{t}.{body}" in a pooled buffer (returned by the caller).</summary>
    private static byte[] SignedBytes(string timestampText, string body, out int length)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(timestampText.Length + 1 + Encoding.UTF8.GetMaxByteCount(body.Length));
        length = Encoding.UTF8.GetBytes(timestampText, buffer);
        buffer[length++] = (byte)'.';
        length += Encoding.UTF8.GetBytes(body, buffer.AsSpan(length));
        return buffer;
    }

    /// <summary>Whether one v1 value is the lower-case hex HMAC-SHA256 of the signed bytes under <paramref name="secret"/>.</summary>
    private static bool Matches(ReadOnlySpan<byte> signed, string secret, List<string> signatures)
    {
        Span<byte> hash = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Span<char> hex = stackalloc char[HMACSHA256.HashSizeInBytes * 2];
        var key = Encoding.UTF8.GetBytes(secret);
        HMACSHA256.HashData(key, signed, hash);
        CryptographicOperations.ZeroMemory(key);
        if (!Convert.TryToHexStringLower(hash, hex, out _)) throw new InvalidOperationException("a SHA-256 hash has 64 hex digits");
        var found = false;
        // Every candidate is compared in full (constant time per value), as Stripe.net's SecureEquals does.
        foreach (var candidate in signatures)
        {
            found |= candidate.Length == hex.Length
                     && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(hex), MemoryMarshal.AsBytes(candidate.AsSpan()));
        }
        return found;
    }

    private static PspWebhookEvent ToWebhookEvent(string body)
    {
        StripeJsonReader.ReadEvent stripeEvent;
        try
        {
            // The API version is the PSP's business; Payrail reads only stable fields.
            stripeEvent = StripeJsonReader.Event(body);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException or InvalidCastException or FormatException
                                      or InvalidOperationException or KeyNotFoundException or OverflowException)
        {
            throw Malformed("malformed webhook body");
        }
        if (stripeEvent is null || string.IsNullOrEmpty(stripeEvent.Id) || string.IsNullOrEmpty(stripeEvent.Type))
            throw Malformed("webhook without event id or type");
        if (stripeEvent.Id.Length > MaxIdLength || stripeEvent.Type.Length > MaxIdLength) throw Malformed("webhook event id or type too long");

        PspPayment? payment;
        try
        {
            payment = stripeEvent.Object is PaymentIntent intent ? StripeMapping.ToPayment(intent) : null;
        }
        catch (StripeAmountException)
        {
            // Booking a rounded amount would put a wrong number in the books: the event is kept, as rejected.
            throw Malformed("webhook amount not convertible to ISO minor units");
        }
        var (reference, metadata) = stripeEvent.Object switch
        {
            PaymentIntent pi => (pi.Id, pi.Metadata),
            Charge charge => (charge.PaymentIntentId, charge.Metadata),
            Refund refund => (refund.PaymentIntentId, refund.Metadata),
            _ => (null, null),
        };
        PspRefund? refundSnapshot;
        try
        {
            refundSnapshot = stripeEvent.Object is Refund r && !string.IsNullOrEmpty(r.Id) ? StripeMapping.ToRefund(r, reference ?? "") : null;
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

namespace Payrail.Webhooks;

/// <summary>Section <c>Webhooks</c>: the bounds of the PSP webhook receiver (secrets live under <c>Stripe:WebhookSecrets</c>).</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "Webhooks";

    /// <summary>
    /// Largest webhook body read (413 above). Stripe's events are a few KiB; the bound stops an unauthenticated sender
    /// from making us buffer and HMAC megabytes before the signature is known to be wrong.
    /// </summary>
    public const int MaxBodyBytes = 256 * 1024;

    /// <summary>
    /// Deadline of the one PSP read an ambiguous event triggers (a refund event, an out-of-order pair), within the
    /// sender's answer budget (Stripe waits for seconds, not minutes). Past it the receiver answers 503, writes
    /// nothing, and the PSP delivers again later.
    /// </summary>
    public int RefetchTimeoutMs { get; set; } = 2_000;

    internal IEnumerable<string> Problems()
    {
        if (RefetchTimeoutMs is < 50 or > 10_000) yield return "Webhooks:RefetchTimeoutMs must be within [50, 10000]";
    }
}

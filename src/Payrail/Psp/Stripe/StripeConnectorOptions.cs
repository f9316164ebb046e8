namespace Payrail.Psp.Stripe;

/// <summary>
/// Section <c>Stripe</c> of the configuration. Pointing <see cref="BaseUrl"/> and <see cref="ApiKey"/>
/// at real Stripe is all it takes to leave pspsim.
/// </summary>
public sealed class StripeConnectorOptions
{
    public const string SectionName = "Stripe";

    /// <summary>API base, e.g. http://127.0.0.1:8090 (pspsim) or https://api.stripe.com.</summary>
    public string BaseUrl { get; set; } = "";

    /// <summary>Secret API key. Never logged.</summary>
    public string ApiKey { get; set; } = "";

    /// <summary>Deadline of one HTTP attempt (connect, send, read the whole response).</summary>
    public int RequestTimeoutMs { get; set; } = 10_000;

    /// <summary>Deadline of a whole call, all attempts and backoff included.</summary>
    public int TotalTimeoutMs { get; set; } = 30_000;

    /// <summary>Retries after a transport failure (never after an HTTP answer). 0 disables retrying.</summary>
    public int MaxNetworkRetries { get; set; } = 2;

    /// <summary>First backoff delay; it doubles per retry, with jitter, capped at <see cref="MaxRetryDelayMs"/>.</summary>
    public int RetryBaseDelayMs { get; set; } = 200;

    public int MaxRetryDelayMs { get; set; } = 2_000;

    /// <summary>
    /// Retries after Stripe asked to come back later (429 rate_limit or lock_timeout, 409 lock_timeout), each after the
    /// PSP's Retry-After (or the backoff above when it sends none), within the caller's budget; then the outcome is
    /// unknown, never a decline. 0 disables them.
    /// </summary>
    public int MaxTryLaterRetries { get; set; } = 2;

    /// <summary>Longest Retry-After waited for: a longer one would outlast the synchronous budget, so it is answered as unknown at once.</summary>
    public int MaxRetryAfterMs { get; set; } = 3_000;

    /// <summary>
    /// Where the PSP sends the buyer back after 3-D Secure (Stripe's return_url), sent with every authorization.
    /// Without it Stripe answers a card that needs authentication with an SDK action and no redirect URL. Absolute
    /// https, or http on a loopback host (local runs). Empty: not sent.
    /// </summary>
    public string ReturnUrl { get; set; } = "";

    /// <summary>
    /// How long after the last request that could have created a PaymentIntent its absence from Stripe's search is
    /// believed. Stripe: "under normal operating conditions, data is searchable in under 1 minute"; a little more here.
    /// Against pspsim it must be at least PspSim:SearchLagMs.
    /// </summary>
    public int SearchFreshnessMs { get; set; } = 90_000;

    /// <summary>Webhook signing secrets (whsec_...). Several are accepted at once so a secret can be rotated without downtime.</summary>
    public string[] WebhookSecrets { get; set; } = [];

    /// <summary>Bounds the HMAC work an unauthenticated sender can cause per webhook.</summary>
    public const int MaxWebhookSecrets = 8;

    /// <summary>How far a webhook's signed timestamp may be from now, either way (replay window).</summary>
    public int WebhookToleranceSeconds { get; set; } = 300;

    /// <summary>Upper bound of settlement lines read in one listing; more is an error, never a silent cut.</summary>
    public int MaxSettlementLines { get; set; } = 100_000;

    /// <summary>Largest response body accepted from the PSP.</summary>
    public int MaxResponseBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Where Stripe serves report files (a report run's result url): the API key is sent to this origin and to
    /// <see cref="BaseUrl"/>'s, never to another a result names.
    /// </summary>
    public string FilesBaseUrl { get; set; } = "https://files.stripe.com";

    /// <summary>
    /// A report run's whole budget: created, rendered at the PSP (Stripe takes minutes for a busy day), downloaded and
    /// read. Past it the listing fails, and the reconciliation with it.
    /// </summary>
    public int ReportTimeoutMs { get; set; } = 900_000;

    /// <summary>Largest report file accepted (a million lines are ≈ 150 MB).</summary>
    public long MaxReportBytes { get; set; } = 1L << 30;

    private static bool IsReturnUrl(string value) =>
        value.Length <= 2_048
        && Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback))
        && string.IsNullOrEmpty(uri.UserInfo);

    internal IEnumerable<string> Problems()
    {
        if (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            yield return "Stripe:BaseUrl must be an absolute http(s) URL";
        if (string.IsNullOrWhiteSpace(ApiKey)) yield return "Stripe:ApiKey is required";
        if (RequestTimeoutMs is < 50 or > 120_000) yield return "Stripe:RequestTimeoutMs must be within [50, 120000]";
        if (TotalTimeoutMs < RequestTimeoutMs || TotalTimeoutMs > 300_000) yield return "Stripe:TotalTimeoutMs must be within [RequestTimeoutMs, 300000]";
        if (MaxNetworkRetries is < 0 or > 5) yield return "Stripe:MaxNetworkRetries must be within [0, 5]";
        if (RetryBaseDelayMs is < 1 or > 10_000) yield return "Stripe:RetryBaseDelayMs must be within [1, 10000]";
        if (MaxRetryDelayMs < RetryBaseDelayMs || MaxRetryDelayMs > 30_000) yield return "Stripe:MaxRetryDelayMs must be within [RetryBaseDelayMs, 30000]";
        if (MaxTryLaterRetries is < 0 or > 5) yield return "Stripe:MaxTryLaterRetries must be within [0, 5]";
        if (MaxRetryAfterMs is < 0 or > 60_000) yield return "Stripe:MaxRetryAfterMs must be within [0, 60000]";
        if (SearchFreshnessMs is < 0 or > 86_400_000) yield return "Stripe:SearchFreshnessMs must be within [0, 86400000]";
        if (ReturnUrl.Length > 0 && !IsReturnUrl(ReturnUrl))
            yield return "Stripe:ReturnUrl must be an absolute https URL (http only on a loopback host), at most 2048 characters";
        if (WebhookToleranceSeconds is < 1 or > 3_600) yield return "Stripe:WebhookToleranceSeconds must be within [1, 3600]";
        if (WebhookSecrets is null || WebhookSecrets.Any(string.IsNullOrWhiteSpace)) yield return "Stripe:WebhookSecrets must not contain blank secrets";
        else if (WebhookSecrets.Length > MaxWebhookSecrets) yield return $"Stripe:WebhookSecrets holds at most {MaxWebhookSecrets} secrets";
        if (MaxSettlementLines is < 1 or > 1_000_000) yield return "Stripe:MaxSettlementLines must be within [1, 1000000]";
        if (MaxResponseBytes is < 1024 or > 256 * 1024 * 1024) yield return "Stripe:MaxResponseBytes must be within [1 KiB, 256 MiB]";
        if (!Uri.TryCreate(FilesBaseUrl, UriKind.Absolute, out var files) || (files.Scheme != Uri.UriSchemeHttp && files.Scheme != Uri.UriSchemeHttps))
            yield return "Stripe:FilesBaseUrl must be an absolute http(s) URL";
        if (ReportTimeoutMs is < 1_000 or > 3_600_000) yield return "Stripe:ReportTimeoutMs must be within [1000, 3600000]";
        if (MaxReportBytes is < 1024 or > 16L << 30) yield return "Stripe:MaxReportBytes must be within [1 KiB, 16 GiB]";
    }
}

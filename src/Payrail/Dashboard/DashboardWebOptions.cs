namespace Payrail.Dashboard;

/// <summary>
/// Section <c>Dashboard</c>: every bound of `payrail dashboard` in one place, each validated at start. (The consumer's
/// own settings are <c>Consumers:Dashboard</c>.)
/// </summary>
public sealed class DashboardWebOptions
{
    public const string SectionName = "Dashboard";
    public const string DefaultUrls = "http://127.0.0.1:8082";

    /// <summary>The public listener: the web pages and the live stream (DESIGN.md: 8082).</summary>
    public string Urls { get; set; } = DefaultUrls;

    /// <summary>
    /// Where the actions (capture, void, refund) are sent, with the signed-in merchant's own token: the gateway by
    /// default, so the dashboard is one more API client under the same rate limit and rules.
    /// </summary>
    public string ApiUrl { get; set; } = "http://127.0.0.1:8080";

    /// <summary>Upper bound of one API call made for an action (the API's own sync budget is 5 s).</summary>
    public int ApiTimeoutMs { get; set; } = 15_000;

    /// <summary>Lifetime of a development sign-in's token (and its cookie). A production token keeps its own expiry.</summary>
    public int DevSessionMinutes { get; set; } = 480;

    /// <summary>Rows per page of the payments list.</summary>
    public int PageSize { get; set; } = 50;

    /// <summary>Stream log rows read per query; a browser far behind catches up in batches of this size.</summary>
    public int StreamBatchRows { get; set; } = 500;

    /// <summary>
    /// How often an idle stream looks at the log when the LISTEN connection is down (with it up, a stream reads only
    /// when told to, and at each heartbeat).
    /// </summary>
    public int StreamPollMs { get; set; } = 1_000;

    /// <summary>An idle stream sends a ping this often, so proxies keep it open and a dead browser is noticed.</summary>
    public int StreamHeartbeatMs { get; set; } = 15_000;

    /// <summary>Open streams per dashboard instance; one more is answered 503.</summary>
    public int MaxStreams { get; set; } = 1_000;

    /// <summary>Pause before the LISTEN connection is opened again after it failed.</summary>
    public int ListenRetryMs { get; set; } = 1_000;

    /// <summary>Stream log rows are kept this long; a browser reconnecting from before that reloads the page.</summary>
    public int StreamRetentionHours { get; set; } = 24;

    /// <summary>How often the dashboard deletes stream log rows past their retention, and how many per statement.</summary>
    public int PruneIntervalMs { get; set; } = 60_000;

    public int PruneBatchRows { get; set; } = 5_000;

    /// <summary>Most rows of one CSV export (the filtered list); the file says when it was cut.</summary>
    public int MaxExportRows { get; set; } = 1_000_000;

    /// <summary>Rows written to the response between flushes: the export holds at most this many rows in memory.</summary>
    public int ExportFlushRows { get; set; } = 500;

    /// <summary>Upper bound of one page's database reads.</summary>
    public int DatabaseTimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// Where the keys protecting the anti-forgery tokens live (empty: <c>.payrail/secrets/dashboard-keys</c>). Every
    /// instance behind one address must share them, or a form rendered by one is refused by another.
    /// </summary>
    public string KeysDirectory { get; set; } = "";

    public IEnumerable<string> Problems()
    {
        const string s = SectionName + ":";
        if (!IsHttpUrl(ApiUrl)) yield return $"{s}ApiUrl must be an absolute http(s) URL";
        if (ApiTimeoutMs is < 100 or > 120_000) yield return $"{s}ApiTimeoutMs must be within [100, 120000]";
        if (DevSessionMinutes is < 1 or > 7 * 24 * 60) yield return $"{s}DevSessionMinutes must be within [1, 10080]";
        if (PageSize is < 1 or > 500) yield return $"{s}PageSize must be within [1, 500]";
        if (StreamBatchRows is < 1 or > 10_000) yield return $"{s}StreamBatchRows must be within [1, 10000]";
        if (StreamPollMs is < 10 or > 60_000) yield return $"{s}StreamPollMs must be within [10, 60000]";
        if (StreamHeartbeatMs is < 100 or > 300_000) yield return $"{s}StreamHeartbeatMs must be within [100, 300000]";
        if (MaxStreams is < 1 or > 100_000) yield return $"{s}MaxStreams must be within [1, 100000]";
        if (ListenRetryMs is < 10 or > 60_000) yield return $"{s}ListenRetryMs must be within [10, 60000]";
        if (StreamRetentionHours is < 1 or > 24 * 90) yield return $"{s}StreamRetentionHours must be within [1, 2160]";
        if (PruneIntervalMs is < 100 or > 3_600_000) yield return $"{s}PruneIntervalMs must be within [100, 3600000]";
        if (PruneBatchRows is < 1 or > 100_000) yield return $"{s}PruneBatchRows must be within [1, 100000]";
        if (MaxExportRows is < 1 or > 10_000_000) yield return $"{s}MaxExportRows must be within [1, 10000000]";
        if (ExportFlushRows is < 1 or > 10_000) yield return $"{s}ExportFlushRows must be within [1, 10000]";
        if (DatabaseTimeoutSeconds is < 1 or > 300) yield return $"{s}DatabaseTimeoutSeconds must be within [1, 300]";
    }

    private static bool IsHttpUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";
}

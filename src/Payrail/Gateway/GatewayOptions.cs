using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Payrail.Gateway;

/// <summary>
/// Section <c>Gateway</c>: every bound of `payrail gateway` in one place. Defaults are DESIGN.md's port 8080, a body
/// limit well above the largest payment request (metadata included) and a request timeout above the API's
/// <c>Payments:SyncBudgetMs</c> (5 s), so a slow PSP ends as the API's 202, not as the gateway's 504.
/// </summary>
public sealed class GatewayOptions
{
    public const string SectionName = "Gateway";
    public const string DefaultUrls = "http://127.0.0.1:8080";
    private const int MaxDestinations = 64;

    /// <summary>The public listener.</summary>
    public string Urls { get; set; } = DefaultUrls;

    /// <summary>
    /// The payment-service instances, ';'-separated base URLs (public listeners). `payrail up` sets them to the
    /// instances it starts.
    /// </summary>
    public string ApiUrls { get; set; } = "http://127.0.0.1:8081";

    /// <summary>Largest request body forwarded; a larger one is answered 413 before anything reaches the API.</summary>
    public int MaxBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Kestrel's header limits (431 / 400 past them): a payment request carries about ten headers.</summary>
    public int MaxRequestHeaderCount { get; set; } = 64;
    public int MaxRequestHeadersTotalBytes { get; set; } = 16 * 1024;

    /// <summary>
    /// The longest the gateway waits for the API's answer (YARP's activity timeout: no byte for this long ends the
    /// request with 504). Above the API's synchronous budget, below a client's usual 30 s.
    /// </summary>
    public int RequestTimeoutMs { get; set; } = 15_000;

    /// <summary>TCP connect timeout to an API instance. A refused or timed-out connect sent nothing: the next instance is tried.</summary>
    public int ConnectTimeoutMs { get; set; } = 1_000;

    /// <summary>Active health checks: GET /readyz on each instance every interval, each with this timeout.</summary>
    public int HealthCheckIntervalMs { get; set; } = 2_000;
    public int HealthCheckTimeoutMs { get; set; } = 1_000;

    /// <summary>Consecutive failed probes that take an instance out of rotation (a passing probe brings it back).</summary>
    public int HealthCheckFailuresThreshold { get; set; } = 2;

    /// <summary>How long an instance found failing by live traffic (passive check) stays out before it is tried again.</summary>
    public int PassiveReactivationMs { get; set; } = 5_000;

    /// <summary>The Retry-After of a 503 when no instance could be reached: about one health-check interval.</summary>
    public int UnavailableRetryAfterSeconds { get; set; } = 2;

    /// <summary>
    /// Continue the client's W3C trace (<c>traceparent</c>) instead of starting a new one. Off at the edge: a client
    /// could otherwise pick trace ids (joining its requests to another caller's trace) or force sampling. Turn it on
    /// only behind a trusted edge that starts traces itself.
    /// </summary>
    public bool TrustIncomingTraceContext { get; set; }

    public RateLimitOptions RateLimit { get; set; } = new();

    public IReadOnlyList<Uri> ApiDestinations() =>
        ApiUrls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(u => new Uri(u.TrimEnd('/') + "/")).ToList();

    public IEnumerable<string> Problems()
    {
        var urls = ApiUrls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (urls.Length is 0 or > MaxDestinations)
            yield return $"Gateway:ApiUrls must name 1-{MaxDestinations} ';'-separated http(s) base URLs";
        else if (urls.Any(u => !Uri.TryCreate(u, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            yield return "Gateway:ApiUrls must hold absolute http(s) URLs";
        if (MaxBodyBytes is < 1_024 or > 16 * 1024 * 1024) yield return "Gateway:MaxBodyBytes must be within [1024, 16777216]";
        if (MaxRequestHeaderCount is < 8 or > 1_000) yield return "Gateway:MaxRequestHeaderCount must be within [8, 1000]";
        if (MaxRequestHeadersTotalBytes is < 1_024 or > 1024 * 1024)
            yield return "Gateway:MaxRequestHeadersTotalBytes must be within [1024, 1048576]";
        if (RequestTimeoutMs is < 100 or > 300_000) yield return "Gateway:RequestTimeoutMs must be within [100, 300000]";
        if (ConnectTimeoutMs is < 10 or > 60_000 || ConnectTimeoutMs > RequestTimeoutMs)
            yield return "Gateway:ConnectTimeoutMs must be within [10, 60000] and at most Gateway:RequestTimeoutMs";
        if (HealthCheckIntervalMs is < 100 or > 600_000) yield return "Gateway:HealthCheckIntervalMs must be within [100, 600000]";
        if (HealthCheckTimeoutMs < 10 || HealthCheckTimeoutMs > HealthCheckIntervalMs)
            yield return "Gateway:HealthCheckTimeoutMs must be within [10, Gateway:HealthCheckIntervalMs]";
        if (HealthCheckFailuresThreshold is < 1 or > 100) yield return "Gateway:HealthCheckFailuresThreshold must be within [1, 100]";
        if (PassiveReactivationMs is < 100 or > 600_000) yield return "Gateway:PassiveReactivationMs must be within [100, 600000]";
        if (UnavailableRetryAfterSeconds is < 1 or > 3_600) yield return "Gateway:UnavailableRetryAfterSeconds must be within [1, 3600]";
        foreach (var problem in RateLimit.Problems()) yield return problem;
    }

    public void ApplyTo(KestrelServerLimits limits)
    {
        limits.MaxRequestBodySize = MaxBodyBytes;
        limits.MaxRequestHeaderCount = MaxRequestHeaderCount;
        limits.MaxRequestHeadersTotalSize = MaxRequestHeadersTotalBytes;
        // A client that sends its headers slowly holds a connection: bounded like the body (Kestrel's default rate).
        limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
    }
}

/// <summary>
/// Section <c>Gateway:RateLimit</c>: a token bucket per caller (role and subject) shared by every gateway instance in
/// Redis, with a per-instance bucket while Redis cannot be reached.
/// </summary>
public sealed class RateLimitOptions
{
    /// <summary>Per role (<c>buyer</c>, <c>merchant</c>, <c>ops</c>): steady requests per second and the burst on top.</summary>
    public Dictionary<string, RoleRate> Roles { get; set; } = new(StringComparer.Ordinal)
    {
        [Auth.Roles.Buyer] = new() { RequestsPerSecond = 10, BurstRequests = 20 },
        [Auth.Roles.Merchant] = new() { RequestsPerSecond = 50, BurstRequests = 100 },
        [Auth.Roles.Ops] = new() { RequestsPerSecond = 20, BurstRequests = 40 },
    };

    /// <summary>One script call's budget: past it this request is decided by the local bucket.</summary>
    public int RedisTimeoutMs { get; set; } = 100;

    /// <summary>After a Redis failure, the local buckets decide for this long before Redis is tried again.</summary>
    public int RedisRetryAfterMs { get; set; } = 1_000;

    /// <summary>Bound on the local buckets kept while Redis is down (idle full buckets are dropped first).</summary>
    public int MaxLocalBuckets { get; set; } = 100_000;

    /// <summary>Prefix of the bucket keys in Redis (each expires once its bucket would be full again).</summary>
    public string KeyPrefix { get; set; } = "rl:";

    public RoleRate For(string role) =>
        Roles.TryGetValue(role, out var rate) ? rate : throw new InvalidOperationException($"no rate for role {role}");

    public IEnumerable<string> Problems()
    {
        foreach (var role in new[] { Auth.Roles.Buyer, Auth.Roles.Merchant, Auth.Roles.Ops })
        {
            if (!Roles.TryGetValue(role, out var rate))
                yield return $"Gateway:RateLimit:Roles:{role} is missing (RequestsPerSecond, BurstRequests)";
            else if (rate.RequestsPerSecond is < 1 or > 100_000 || rate.BurstRequests is < 1 or > 1_000_000)
                yield return $"Gateway:RateLimit:Roles:{role} needs RequestsPerSecond within [1, 100000] and BurstRequests within [1, 1000000]";
        }
        if (RedisTimeoutMs is < 1 or > 5_000) yield return "Gateway:RateLimit:RedisTimeoutMs must be within [1, 5000]";
        if (RedisRetryAfterMs is < 0 or > 60_000) yield return "Gateway:RateLimit:RedisRetryAfterMs must be within [0, 60000]";
        if (MaxLocalBuckets is < 1 or > 10_000_000) yield return "Gateway:RateLimit:MaxLocalBuckets must be within [1, 10000000]";
        if (string.IsNullOrWhiteSpace(KeyPrefix) || KeyPrefix.Length > 64) yield return "Gateway:RateLimit:KeyPrefix must be 1-64 characters";
    }
}

/// <summary>A role's bucket: refills <see cref="RequestsPerSecond"/>, holds at most <see cref="BurstRequests"/>.</summary>
public sealed class RoleRate
{
    public int RequestsPerSecond { get; set; }
    public int BurstRequests { get; set; }
}

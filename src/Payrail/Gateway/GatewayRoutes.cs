using System.Globalization;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;

namespace Payrail.Gateway;

/// <summary>
/// What the gateway forwards, from configuration: <c>/v1/**</c> (a valid token required) and <c>/webhooks/**</c> (no
/// token: the API checks the PSP's HMAC) to the payment-service instances of <see cref="GatewayOptions.ApiUrls"/>.
/// Anything else is the gateway's own (health) or a 404.
/// </summary>
public static class GatewayRoutes
{
    public const string ClusterId = "api";
    /// <summary>Policy of AddPayrailJwt: any caller with a valid token of a known role.</summary>
    public const string AuthenticatedPolicy = "any";

    public static IReadOnlyList<RouteConfig> Routes() =>
    [
        new RouteConfig
        {
            RouteId = "v1", ClusterId = ClusterId, AuthorizationPolicy = AuthenticatedPolicy,
            Match = new RouteMatch { Path = "/v1/{**rest}" },
        },
        new RouteConfig
        {
            RouteId = "webhooks", ClusterId = ClusterId, AuthorizationPolicy = "anonymous",
            Match = new RouteMatch { Path = "/webhooks/{**rest}" },
        },
    ];

    /// <summary>
    /// One cluster of every instance. Active checks probe each instance's public <c>/readyz</c>: it answers the same
    /// status as the management listener's (503 without PostgreSQL, 200 when degraded without Redis) and it proves
    /// the listener the traffic uses accepts connections, which a probe of the management port would not; the gateway
    /// also needs no route to the management network. When every instance is marked down the gateway still tries
    /// them (HealthyOrPanic): a refused connection costs microseconds, and an instance that came back answers before
    /// the next probe notices.
    /// </summary>
    public static IReadOnlyList<ClusterConfig> Clusters(GatewayOptions options) =>
    [
        new ClusterConfig
        {
            ClusterId = ClusterId,
            LoadBalancingPolicy = "PowerOfTwoChoices",
            Destinations = options.ApiDestinations().Select((uri, i) => (uri, i)).ToDictionary(
                d => "api-" + d.i.ToString(CultureInfo.InvariantCulture), d => new DestinationConfig { Address = d.uri.ToString() }),
            HealthCheck = new HealthCheckConfig
            {
                AvailableDestinationsPolicy = HealthCheckConstants.AvailableDestinations.HealthyOrPanic,
                Active = new ActiveHealthCheckConfig
                {
                    Enabled = true,
                    Interval = TimeSpan.FromMilliseconds(options.HealthCheckIntervalMs),
                    Timeout = TimeSpan.FromMilliseconds(options.HealthCheckTimeoutMs),
                    Policy = HealthCheckConstants.ActivePolicy.ConsecutiveFailures,
                    Path = "/readyz",
                },
                Passive = new PassiveHealthCheckConfig
                {
                    Enabled = true,
                    Policy = HealthCheckConstants.PassivePolicy.TransportFailureRate,
                    ReactivationPeriod = TimeSpan.FromMilliseconds(options.PassiveReactivationMs),
                },
            },
            Metadata = new Dictionary<string, string>
            {
                [ConsecutiveFailuresHealthPolicyOptions.ThresholdMetadataName] =
                    options.HealthCheckFailuresThreshold.ToString(CultureInfo.InvariantCulture),
            },
            HttpRequest = new Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig
            {
                ActivityTimeout = TimeSpan.FromMilliseconds(options.RequestTimeoutMs),
            },
        },
    ];
}

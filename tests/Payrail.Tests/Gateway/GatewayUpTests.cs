using Microsoft.Extensions.Configuration;
using Payrail.DevEnvironment;
using Payrail.Gateway;
using Payrail.Hosting;
using Xunit;

namespace Payrail.Tests.Gateway;

/// <summary>`payrail up` starts the gateway in front of the API instances it starts, and its ports are checked like every role's.</summary>
public sealed class GatewayUpTests
{
    [Fact]
    public void Up_points_the_gateway_at_every_api_instance_it_starts()
    {
        var configuration = Configuration(("Api:Instances", "3"), ("Api:Urls", "http://127.0.0.1:18081"));

        var gateway = PlatformRoles.GatewaySpec(configuration, new Dictionary<string, string>());

        Assert.Equal("gateway", gateway.Role);
        Assert.Equal("http://127.0.0.1:18081;http://127.0.0.1:18181;http://127.0.0.1:18281", gateway.Environment["PAYRAIL__Gateway__ApiUrls"]);
        Assert.Equal("http://127.0.0.1:9080/readyz", gateway.HealthUrl);
    }

    [Fact]
    public void A_gateway_port_taken_by_another_role_is_refused_with_both_settings_named()
    {
        var configuration = Configuration(("Gateway:ManagementUrls", "http://127.0.0.1:9082"));

        var conflict = Assert.Single(PlatformRoles.PortConflicts(configuration));

        Assert.Contains("Gateway:ManagementUrls", conflict);
        Assert.Contains("Worker:ManagementUrls", conflict);
    }

    [Fact]
    public void Broken_gateway_settings_are_each_named()
    {
        var configuration = Configuration(("Gateway:ApiUrls", "ftp://x"), ("Gateway:MaxBodyBytes", "10"),
            ("Gateway:RateLimit:Roles:buyer:RequestsPerSecond", "0"));

        var problems = Assert.Throws<InvalidSettingsException>(() => GatewayHost.Build(configuration)).Problems;

        Assert.Contains(problems, p => p.StartsWith("Gateway:ApiUrls", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Gateway:MaxBodyBytes", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Gateway:RateLimit:Roles:buyer", StringComparison.Ordinal));
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
}

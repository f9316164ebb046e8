using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Payrail.Hosting;
using Payrail.Tests.Payments;
using Xunit;

namespace Payrail.Tests.Api;

/// <summary>
/// Payment counts by status and the state of PostgreSQL and Redis are business and infrastructure data: they are served
/// on the management listener (Api:ManagementUrls, loopback by default), never on the public one, which keeps only the
/// plain health status a load balancer needs.
/// </summary>
public sealed class ManagementListenerTests(PaymentsApiFixture api) : IClassFixture<PaymentsApiFixture>
{
    [Fact]
    public async Task Metrics_are_not_found_on_the_public_listener()
    {
        using var response = await api.Http.GetAsync("/metrics");

        Assert.Equal(404, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Metrics_are_not_found_on_the_public_listener_even_when_the_host_header_names_the_management_port()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Host = new Uri(api.ManagementUrl).Authority;
        using var response = await api.Http.SendAsync(request);

        Assert.Equal(404, (int)response.StatusCode);
    }

    [Fact]
    public async Task Metrics_with_payment_counts_are_served_on_the_management_listener()
    {
        var buyer = "b_mgmt_" + Guid.NewGuid().ToString("N")[..10];
        await api.PostPaymentAsync(api.BuyerToken(buyer), Guid.NewGuid().ToString(), PaymentsApiFixture.Body());

        using var response = await api.ManagementHttp.GetAsync("/metrics");
        var metrics = await response.Content.ReadAsStringAsync();

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Contains("payrail_payments", metrics);
        Assert.Contains("status=\"captured\"", metrics);
    }

    [Fact]
    public async Task Public_readiness_tells_the_status_without_the_components()
    {
        using var response = await api.Http.GetAsync("/readyz");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("ready", body.RootElement.GetProperty("status").GetString());
        Assert.Equal(["status"], body.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Management_readiness_names_each_component()
    {
        using var response = await api.ManagementHttp.GetAsync("/readyz");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("ready", body.RootElement.GetProperty("status").GetString());
        Assert.Equal("up", body.RootElement.GetProperty("postgres").GetString());
        Assert.Equal("up", body.RootElement.GetProperty("redis").GetString());
    }

    [Fact]
    public async Task Liveness_is_served_on_both_listeners()
    {
        using var publicAnswer = await api.Http.GetAsync("/healthz");
        using var managementAnswer = await api.ManagementHttp.GetAsync("/healthz");

        Assert.Equal(200, (int)publicAnswer.StatusCode);
        Assert.Equal(200, (int)managementAnswer.StatusCode);
    }
}

public sealed class ManagementListenerSettingsTests
{
    private static IConfiguration With(string? managementUrls) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Api:ManagementUrls"] = managementUrls }).Build();

    [Fact]
    public void The_management_listener_is_on_loopback_by_default()
    {
        var listener = ManagementListener.From(With(null), "http://0.0.0.0:8081");

        Assert.Equal("http://127.0.0.1:9081", listener.Urls);
        Assert.Equal([9081], listener.Ports);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8081")]
    [InlineData("http://127.0.0.1:0")]
    [InlineData("not a url")]
    public void A_management_url_whose_requests_cannot_be_told_apart_refuses_to_start(string managementUrls)
    {
        var refusal = Assert.ThrowsAny<Exception>(() => ManagementListener.From(With(managementUrls), "http://127.0.0.1:8081"));

        Assert.Contains("Api:ManagementUrls", refusal.Message);
    }
}

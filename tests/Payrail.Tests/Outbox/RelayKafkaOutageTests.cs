using Payrail.Tests.Worker;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Payrail.Outbox;
using Payrail.Testing;
using Payrail.Tests.Payments;
using Payrail.Worker;
using Xunit;

namespace Payrail.Tests.Outbox;

/// <summary>
/// The relay as `payrail worker` runs it, next to the payment service: Kafka down never fails a payment, the backlog
/// grows and shows in the worker's loops (what `payrail status` prints), and drains when Kafka is back.
/// </summary>
public sealed class RelayKafkaOutageTests(PaymentsApiFixture api, DevKafkaFixture kafka)
    : IClassFixture<PaymentsApiFixture>, IClassFixture<DevKafkaFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly string _topic = "relay-outage-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _managementUrl = $"http://127.0.0.1:{FreePort.Next()}";
    private readonly HttpClient _management = new() { Timeout = TimeSpan.FromSeconds(10) };
    private WebApplication? _worker;

    public async Task InitializeAsync()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(WorkerLoopsOff.AllBut(WorkerLoopsOff.Relay)).AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = api.Postgres.ConnectionString,
            ["Kafka:BootstrapServers"] = kafka.BootstrapServers,
            ["Worker:ManagementUrls"] = _managementUrl,
            ["Relay:Topic"] = _topic,
            ["Relay:DeadLetterTopic"] = _topic + ".dlq",
            ["Relay:TopicPartitions"] = "2",
            ["Relay:DeliveryTimeoutMs"] = "1000",
            ["Relay:SocketTimeoutMs"] = "1000",
            ["Relay:AdminTimeoutMs"] = "1000",
            ["Relay:MaxFailureBackoffMs"] = "300",
            ["Relay:BacklogIntervalMs"] = "100",
            ["Logging:LogLevel:Default"] = "Error",
        }).Build();
        _worker = WorkerHost.Build(configuration);
        await _worker.StartAsync();
        _management.BaseAddress = new Uri(_managementUrl);
    }

    [Fact]
    public async Task With_kafka_stopped_payments_succeed_the_backlog_shows_and_drains_when_kafka_is_back()
    {
        var token = api.BuyerToken("b_outage");
        await Eventually.TrueAsync(async () => (await LoopsAsync()).Contains("partitions 16/16"), Deadline, "the worker's relay owns every partition");
        Assert.Equal(201, (await api.PostPaymentAsync(token, Guid.NewGuid().ToString(), PaymentsApiFixture.Body())).Status);
        await Eventually.TrueAsync(async () => await api.ScalarAsync("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0,
            Deadline, "the relay publishes while Kafka is up");
        var before = await api.ScalarAsync("SELECT count(*) FROM outbox");
        await kafka.StopAsync();

        for (var i = 0; i < 5; i++)
            Assert.Equal(201, (await api.PostPaymentAsync(token, Guid.NewGuid().ToString(), PaymentsApiFixture.Body())).Status);
        var events = await api.ScalarAsync("SELECT count(*) FROM outbox") - before;
        Assert.True(events >= 5);
        await Eventually.TrueAsync(async () => (await LoopsAsync()).Contains($"backlog {events},"), Deadline,
            "the backlog is reported in the worker's loops while Kafka is down");
        await Eventually.TrueAsync(async () => await api.ScalarAsync("SELECT count(*) FROM outbox WHERE attempts = 0") == 0, Deadline,
            "the relay tried every row while Kafka was down, and counted each failed delivery");
        Assert.True(await FailedRoundsAsync());
        Assert.Equal(events, await api.ScalarAsync("SELECT count(*) FROM outbox WHERE published_at IS NULL"));

        await kafka.StartAsync();
        await Eventually.TrueAsync(async () => await api.ScalarAsync("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0,
            Deadline, "the backlog drains when Kafka is back");
        await Eventually.TrueAsync(async () => (await LoopsAsync()).Contains("backlog 0,"), Deadline, "the status line says so");
        var metrics = await _management.GetStringAsync("/metrics");
        Assert.Contains("payrail_outbox_backlog", metrics);
        Assert.Contains("payrail_outbox_oldest_unpublished_age", metrics);
        Assert.Contains("payrail_outbox_delivery_failures", metrics);
    }

    private async Task<bool> FailedRoundsAsync()
    {
        var metrics = await _management.GetStringAsync("/metrics");
        return metrics.Split('\n').Any(line => line.StartsWith("payrail_outbox_relay_rounds", StringComparison.Ordinal)
            && line.Contains("outcome=\"failed\"", StringComparison.Ordinal));
    }

    private async Task<string> LoopsAsync() =>
        (await _management.GetFromJsonAsync<Dictionary<string, string>>(WorkerLoops.Path))!.GetValueOrDefault("relay", "");

    public async Task DisposeAsync()
    {
        _management.Dispose();
        if (_worker is not null) await _worker.DisposeAsync();
    }
}

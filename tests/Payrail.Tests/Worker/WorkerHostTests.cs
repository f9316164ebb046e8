using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Payrail.Testing;
using Payrail.Worker;
using Xunit;

namespace Payrail.Tests.Worker;

/// <summary>The worker role starts with its own pool and management listener, reports ready, and runs the key purge.</summary>
public sealed class WorkerHostTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    private readonly string _managementUrl = $"http://127.0.0.1:{FreePort.Next()}";
    private WebApplication? _worker;
    private readonly HttpClient _management = new() { Timeout = TimeSpan.FromSeconds(30) };

    public async Task InitializeAsync()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(WorkerLoopsOff.AllBut()).AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = postgres.ConnectionString,
            ["Worker:ManagementUrls"] = _managementUrl,
            ["Idempotency:Purge:IntervalMs"] = "50",
            ["Logging:LogLevel:Default"] = "Warning",
        }).Build();
        _worker = WorkerHost.Build(configuration);
        await _worker.StartAsync();
        _management.BaseAddress = new Uri(_managementUrl);
    }

    [Fact]
    public async Task The_worker_is_ready_when_postgres_answers()
    {
        using var response = await _management.GetAsync("/readyz");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Contains("\"postgres\":\"up\"", body);
    }

    [Fact]
    public async Task The_worker_purges_expired_completed_keys_and_reports_it_in_its_metrics()
    {
        await using (var connection = await postgres.OpenAsync())
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO idempotency_keys (scope, key, request_fingerprint, status, lease_expires_at, response_status, response_body, expires_at)
            VALUES ('buyer:b_worker', 'expired-completed', 'fp', 'completed', now(), 201, '{}', now() - interval '1 hour'),
                   ('buyer:b_worker', 'expired-processing', 'fp', 'processing', now(), NULL, NULL, now() - interval '1 hour')
            """, connection))
            await insert.ExecuteNonQueryAsync();

        await Eventually.TrueAsync(async () => await CountAsync("expired-completed") == 0, TimeSpan.FromSeconds(10),
            "the worker's purge deletes the expired completed key");

        Assert.Equal(1, await CountAsync("expired-processing"));
        var metrics = await _management.GetStringAsync("/metrics");
        Assert.Contains("payrail_idempotency_keys_purged", metrics);
        Assert.Contains("payrail_idempotency_purge_runs", metrics);
    }

    [Fact]
    public async Task Liveness_is_served_on_the_management_listener()
    {
        using var response = await _management.GetAsync("/healthz");

        Assert.Equal(200, (int)response.StatusCode);
    }

    private async Task<long> CountAsync(string key)
    {
        await using var connection = await postgres.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM idempotency_keys WHERE key = @key", connection);
        command.Parameters.AddWithValue("key", key);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public async Task DisposeAsync()
    {
        _management.Dispose();
        if (_worker is not null) await _worker.DisposeAsync();
    }
}

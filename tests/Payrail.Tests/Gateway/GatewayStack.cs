using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Payrail.Api;
using Payrail.Auth;
using Payrail.Gateway;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Gateway;

/// <summary>
/// Real payment-service instances (ApiHost on real ports, one PostgreSQL database, pspsim) behind real gateways
/// (GatewayHost on real ports) sharing one Redis. Each API instance records what arrived on /v1 and /webhooks, so a
/// test can assert that a refused request never reached the API.
/// </summary>
public class GatewayStack : IAsyncLifetime
{
    public const string MerchantId = "m_test";

    private readonly string _signingKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
    private readonly List<WebApplication> _apis = [];
    private readonly List<WebApplication> _gateways = [];

    public PostgresFixture Postgres { get; } = new();
    public RedisFixture Redis { get; } = new();
    public PspSimFixture PspSim { get; } = new();
    public List<string> ApiUrls { get; } = [];
    public List<ApiArrivals> Arrivals { get; } = [];
    public List<string> GatewayUrls { get; } = [];
    public List<string> GatewayManagementUrls { get; } = [];
    public AuthOptions Auth { get; private set; } = null!;
    /// <summary>The gateways' clock: real time when the stack starts, then moved only by the test.</summary>
    public ManualClock Clock { get; } = new();

    protected virtual int ApiInstances => 1;
    protected virtual int GatewayInstances => 1;
    protected virtual IEnumerable<KeyValuePair<string, string?>> GatewaySettings => [];
    protected virtual IEnumerable<KeyValuePair<string, string?>> ApiSettings => [];

    public async Task InitializeAsync()
    {
        await Task.WhenAll(Postgres.InitializeAsync(), Redis.InitializeAsync(), PspSim.InitializeAsync());
        await using (var connection = await Postgres.OpenAsync())
        await using (var seed = new NpgsqlCommand("INSERT INTO merchants (id, name) VALUES (@a, 'Test Merchant')", connection))
        {
            seed.Parameters.AddWithValue("a", MerchantId);
            await seed.ExecuteNonQueryAsync();
        }
        for (var i = 0; i < ApiInstances; i++) await StartApiAsync();
        for (var i = 0; i < GatewayInstances; i++) await StartGatewayAsync();
    }

    private Dictionary<string, string?> Common() => new()
    {
        ["Postgres:ConnectionString"] = Postgres.ConnectionString,
        ["Redis:Configuration"] = Redis.Configuration,
        ["Auth:SigningKey"] = _signingKey,
        ["Auth:Issuer"] = "payrail-test",
        ["Auth:Audience"] = "payrail-api",
        ["Logging:LogLevel:Default"] = "Warning",
        ["Logging:LogLevel:Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware"] = "None",
    };

    private async Task StartApiAsync()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var settings = Common();
        settings["Api:Urls"] = url;
        settings["Api:ManagementUrls"] = $"http://127.0.0.1:{FreePort.Next()}";
        settings["Stripe:BaseUrl"] = PspSim.BaseUrl;
        settings["Stripe:ApiKey"] = PspSim.ApiKey;
        foreach (var (key, value) in ApiSettings) settings[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        Auth = AuthOptions.From(configuration);
        var arrivals = new ApiArrivals();
        var app = ApiHost.Build(configuration, services => services.AddSingleton<IStartupFilter>(arrivals));
        await app.StartAsync();
        _apis.Add(app);
        ApiUrls.Add(url);
        Arrivals.Add(arrivals);
    }

    private async Task StartGatewayAsync()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var management = $"http://127.0.0.1:{FreePort.Next()}";
        var settings = Common();
        settings["Gateway:Urls"] = url;
        settings["Gateway:ManagementUrls"] = management;
        settings["Gateway:ApiUrls"] = string.Join(';', ApiUrls);
        settings["Gateway:HealthCheckIntervalMs"] = "500";
        settings["Gateway:HealthCheckTimeoutMs"] = "250";
        foreach (var (key, value) in GatewaySettings) settings[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var app = GatewayHost.Build(configuration, services => services.AddSingleton<TimeProvider>(Clock));
        await app.StartAsync();
        _gateways.Add(app);
        GatewayUrls.Add(url);
        GatewayManagementUrls.Add(management);
    }

    /// <summary>Stops API instance <paramref name="index"/> for good: its port refuses connections from now on.</summary>
    public async Task KillApiAsync(int index)
    {
        // No grace: requests in flight are cut, as by kill -9 (their handlers may still run in the background).
        using var now = new CancellationTokenSource();
        await now.CancelAsync();
        await _apis[index].StopAsync(now.Token);
        await _apis[index].DisposeAsync();
    }

    /// <summary>pspsim's PaymentIntents created for one payment (found by the metadata Payrail sends).</summary>
    public async Task<int> PaymentIntentCountAsync(string paymentId)
    {
        using var http = new HttpClient { BaseAddress = new Uri(PspSim.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", PspSim.ApiKey);
        using var list = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/v1/payment_intents?limit=100"));
        return list.RootElement.GetProperty("data").EnumerateArray().Count(intent =>
            intent.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == System.Text.Json.JsonValueKind.Object
            && metadata.TryGetProperty("payrail_payment_id", out var id) && id.GetString() == paymentId);
    }

    public async Task<long> PaymentRowsAsync()
    {
        await using var connection = await Postgres.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM payments", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public int ArrivedCount => Arrivals.Sum(a => a.Count);

    public string Token(string role, string sub, string? merchantId = null) =>
        DevTokens.Issue(Auth, role, sub, merchantId, TimeSpan.FromMinutes(10), DateTimeOffset.UtcNow);

    public HttpClient Client(int gateway = 0) => new() { BaseAddress = new Uri(GatewayUrls[gateway]), Timeout = TimeSpan.FromSeconds(30) };

    public static HttpRequestMessage Request(HttpMethod method, string path, string? token, string? json = null, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (idempotencyKey is not null) request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        return request;
    }

    public static string PaymentBody(long amount = 1999) =>
        $$"""{"merchant_id":"{{MerchantId}}","amount":{{amount}},"currency":"USD","payment_method":"pm_card_visa"}""";

    public async Task DisposeAsync()
    {
        foreach (var gateway in _gateways) await gateway.DisposeAsync();
        foreach (var api in _apis)
        {
            try { await api.DisposeAsync(); }
            catch (ObjectDisposedException) { /* killed by the test */ }
        }
        await Task.WhenAll(PspSim.DisposeAsync(), Redis.DisposeAsync());
        await Postgres.DisposeAsync();
    }
}

/// <summary>What reached one API instance on /v1 and /webhooks (health probes excluded), with the headers it saw.</summary>
public sealed class ApiArrivals : IStartupFilter
{
    private int _count;
    public ConcurrentQueue<(string Path, Dictionary<string, string> Headers)> Requests { get; } = new();
    public int Count => Volatile.Read(ref _count);

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextStep) =>
        {
            var path = context.Request.Path.Value ?? "";
            if (path.StartsWith("/v1/", StringComparison.Ordinal) || path.StartsWith("/webhooks/", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _count);
                Requests.Enqueue((path, context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
            }
            await nextStep(context);
        });
        next(app);
    };
}

/// <summary>A clock that starts at real time and moves only when told: rate-limit refills without sleeping.</summary>
public sealed class ManualClock : TimeProvider
{
    private long _unixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _unixMs));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _unixMs, (long)by.TotalMilliseconds);
}

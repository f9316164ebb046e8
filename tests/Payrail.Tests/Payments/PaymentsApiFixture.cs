using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Payrail.Api;
using Payrail.Auth;
using Payrail.Payments;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>
/// The payment service on a real Kestrel port, in front of a fresh migrated PostgreSQL database, a
/// private Redis and pspsim. Derived fixtures change settings (short leases, no PSP retries).
/// </summary>
public class PaymentsApiFixture : IAsyncLifetime
{
    public const string MerchantId = "m_test";
    public const string OtherMerchantId = "m_other";

    private WebApplication? _app;

    public PostgresFixture Postgres { get; } = new();
    public RedisFixture Redis { get; } = new();
    public PspSimFixture PspSim { get; } = new();
    public PaymentCrashPoints CrashPoints { get; } = new();
    public string BaseUrl { get; private set; } = "";
    public HttpClient Http { get; private set; } = new();
    /// <summary>The management listener (metrics, health details): its own port, never the public one.</summary>
    public string ManagementUrl { get; private set; } = "";
    public HttpClient ManagementHttp { get; private set; } = new();
    public AuthOptions Auth { get; private set; } = null!;

    /// <summary>The running service's container (to run a step the worker runs, e.g. the sweeper's refund check, against it).</summary>
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("the service has not started");
    private readonly string _signingKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    protected virtual IEnumerable<KeyValuePair<string, string?>> Settings => [];

    /// <summary>Runs once PostgreSQL, Redis and pspsim are up and <see cref="BaseUrl"/> is chosen, before the service starts.</summary>
    protected virtual Task BeforeStartAsync() => Task.CompletedTask;

    /// <summary>Routes only a test host serves (e.g. a second endpoint under the idempotency gate), mapped before it starts.</summary>
    protected virtual void MapTestEndpoints(WebApplication app)
    {
    }

    /// <summary>Services a test host adds or replaces (e.g. a handler on the PSP's HttpClient), after the service's own.</summary>
    protected virtual void ConfigureTestServices(IServiceCollection services)
    {
    }

    /// <summary>The service's clock: real time plus an offset a test may move forward (timers stay real).</summary>
    public ShiftedClock Clock { get; } = new();

    public async Task InitializeAsync()
    {
        await Task.WhenAll(Postgres.InitializeAsync(), Redis.InitializeAsync(), PspSim.InitializeAsync());
        await using (var connection = await Postgres.OpenAsync())
        await using (var seed = new NpgsqlCommand("INSERT INTO merchants (id, name) VALUES (@a, 'Test Merchant'), (@b, 'Other Merchant')", connection))
        {
            seed.Parameters.AddWithValue("a", MerchantId);
            seed.Parameters.AddWithValue("b", OtherMerchantId);
            await seed.ExecuteNonQueryAsync();
        }

        BaseUrl = $"http://127.0.0.1:{FreePort.Next()}";
        ManagementUrl = $"http://127.0.0.1:{FreePort.Next()}";
        await BeforeStartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Api:Urls"] = BaseUrl,
            ["Api:ManagementUrls"] = ManagementUrl,
            ["Postgres:ConnectionString"] = Postgres.ConnectionString,
            ["Redis:Configuration"] = Redis.Configuration,
            ["Stripe:BaseUrl"] = PspSim.BaseUrl,
            ["Stripe:ApiKey"] = PspSim.ApiKey,
            ["Auth:SigningKey"] = _signingKey,
            ["Auth:Issuer"] = "payrail-test",
            ["Auth:Audience"] = "payrail-api",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware"] = "None",
        };
        foreach (var (key, value) in Settings) settings[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        Auth = AuthOptions.From(configuration);
        _app = ApiHost.Build(configuration, services =>
        {
            services.AddSingleton(CrashPoints);
            services.AddSingleton<TimeProvider>(Clock);
            ConfigureTestServices(services);
        });
        MapTestEndpoints(_app);
        await _app.StartAsync();
        Http = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
        ManagementHttp = new HttpClient { BaseAddress = new Uri(ManagementUrl), Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Token(string role, string sub, string? merchantId = null, TimeSpan? lifetime = null) =>
        DevTokens.Issue(Auth, role, sub, merchantId, lifetime ?? TimeSpan.FromMinutes(10), DateTimeOffset.UtcNow);

    public string BuyerToken(string buyerId) => Token(Roles.Buyer, buyerId);

    public static string Body(long amount = 1999, string currency = "USD", string paymentMethod = "pm_card_visa",
        string capture = "automatic", string merchantId = MerchantId, string? description = null) =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["merchant_id"] = merchantId, ["amount"] = amount, ["currency"] = currency,
            ["payment_method"] = paymentMethod, ["capture"] = capture, ["description"] = description,
        });

    public async Task<ApiAnswer> PostPaymentAsync(string? token, string? idempotencyKey, string body, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/payments")
        {
            Content = new StringContent(body, Encoding.UTF8),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (idempotencyKey is not null) request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        using var response = await Http.SendAsync(request);
        return await ApiAnswer.ReadAsync(response);
    }

    public async Task<ApiAnswer> GetAsync(string path, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Http.SendAsync(request);
        return await ApiAnswer.ReadAsync(response);
    }

    public async Task<long> ScalarAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await Postgres.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    public Task<string?> TextAsync(string sql, Guid paymentId) => TextAsync(sql, ("id", (object)paymentId));

    public async Task<string?> TextAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await Postgres.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return await command.ExecuteScalarAsync() as string;
    }

    /// <summary>The payment's transitions, "from-to" in order.</summary>
    public Task<string?> TransitionsAsync(Guid paymentId) => TextAsync(
        "SELECT string_agg(coalesce(from_status, '') || '-' || to_status, ',' ORDER BY id) FROM payment_transitions WHERE payment_id = @id", paymentId);

    /// <summary>The payment's outbox event types in relay order.</summary>
    public Task<string?> OutboxAsync(Guid paymentId) => TextAsync(
        "SELECT string_agg(event_type, ',' ORDER BY seq) FROM outbox WHERE aggregate_id = @id", paymentId);

    /// <summary>Rows of every table the payment flow writes, to prove a refused request wrote nothing.</summary>
    public async Task<string> RowCountsAsync()
    {
        await using var connection = await Postgres.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT concat_ws(',', (SELECT count(*) FROM payments), (SELECT count(*) FROM payment_transitions),
                (SELECT count(*) FROM idempotency_keys), (SELECT count(*) FROM outbox), (SELECT count(*) FROM ledger_transfers),
                (SELECT count(*) FROM ledger_accounts), (SELECT count(*) FROM merchants))
            """, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>`payrail ledger verify` over this database: every invariant of DESIGN.md "Ledger" holds.</summary>
    public async Task AssertBooksBalanceAsync()
    {
        await using var connection = await Postgres.OpenAsync();
        var violations = await Payrail.Ledger.LedgerVerification.VerifyAsync(connection);
        Assert.True(violations.Count == 0, string.Join("; ", violations.Select(v => $"{v.Invariant} {v.Subject}: expected {v.Expected}, actual {v.Actual}")));
    }

    /// <summary>pspsim's PaymentIntents created for one payment (found by the metadata Payrail sends).</summary>
    public async Task<int> PaymentIntentCountAsync(Guid paymentId)
    {
        using var http = new HttpClient { BaseAddress = new Uri(PspSim.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", PspSim.ApiKey);
        var count = 0;
        string? startingAfter = null;
        for (var page = 0; page < 100; page++)
        {
            var url = "/v1/payment_intents?limit=100" + (startingAfter is null ? "" : "&starting_after=" + startingAfter);
            using var list = JsonDocument.Parse(await http.GetStringAsync(url));
            var data = list.RootElement.GetProperty("data");
            foreach (var intent in data.EnumerateArray())
            {
                if (intent.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
                    && metadata.TryGetProperty("payrail_payment_id", out var id) && id.GetString() == paymentId.ToString())
                    count++;
                startingAfter = intent.GetProperty("id").GetString();
            }
            if (!list.RootElement.GetProperty("has_more").GetBoolean()) break;
        }
        return count;
    }

    public virtual async Task DisposeAsync()
    {
        Http.Dispose();
        ManagementHttp.Dispose();
        if (_app is not null) await _app.DisposeAsync();
        await Task.WhenAll(PspSim.DisposeAsync(), Redis.DisposeAsync());
        await Postgres.DisposeAsync();
    }
}

/// <summary>System time shifted by <see cref="Offset"/>: moves "now" without touching timers or the PSP's deadlines.</summary>
public sealed class ShiftedClock : TimeProvider
{
    public TimeSpan Offset { get; set; }

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}

/// <summary>An HTTP answer read whole: status, headers of interest, body text and parsed JSON.</summary>
public sealed record ApiAnswer(int Status, string Body, string? ContentType, IReadOnlyDictionary<string, string> Headers)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;
    public string? ProblemType => Json.TryGetProperty("type", out var type) ? type.GetString() : null;
    public Guid PaymentId => Guid.Parse(Json.GetProperty("id").GetString()!);
    public string? PaymentStatus => Json.GetProperty("status").GetString();

    public static async Task<ApiAnswer> ReadAsync(HttpResponseMessage response)
    {
        var headers = response.Headers.Concat(response.Content.Headers)
            .ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        return new ApiAnswer((int)response.StatusCode, await response.Content.ReadAsStringAsync(),
            response.Content.Headers.ContentType?.MediaType, headers);
    }
}

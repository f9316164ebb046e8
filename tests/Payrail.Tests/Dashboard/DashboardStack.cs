using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Auth;
using Payrail.Dashboard;
using Payrail.DevEnvironment;
using Payrail.Domain.Payments;
using Payrail.Payments;
using Payrail.Testing;
using Payrail.Tests.Payments;
using Payrail.Tests.Worker;
using Payrail.Worker;
using Xunit;

namespace Payrail.Tests.Dashboard;

/// <summary>
/// The whole path a dashboard row takes, on real servers: the API (PostgreSQL, Redis, pspsim), a worker running the
/// outbox relay and the merchant-dashboard and analytics consumers on devkafka, and `payrail dashboard` with the
/// development sign-in on (its development key is the key the API checks tokens with).
/// </summary>
public sealed class DashboardStack : PaymentsApiFixture
{
    private readonly string _devKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
    private readonly string _state = Path.Combine(Path.GetTempPath(), "payrail-dashboard-" + Guid.NewGuid().ToString("N"));
    private readonly string _topic = "payments.dashboard." + Guid.NewGuid().ToString("N")[..8];
    private WebApplication? _worker;
    private WebApplication? _dashboard;

    public DevKafkaFixture Kafka { get; } = new();
    public string DashboardUrl { get; private set; } = "";
    public IServiceProvider DashboardServices => _dashboard!.Services;
    public NpgsqlDataSource Database { get; private set; } = null!;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Auth:SigningKey", _devKey)];

    protected override async Task BeforeStartAsync()
    {
        await Kafka.InitializeAsync();
        Database = NpgsqlDataSource.Create(Postgres.ConnectionString);
        _worker = WorkerHost.Build(new ConfigurationBuilder().AddInMemoryCollection(WorkerLoopsOff.AllBut(WorkerLoopsOff.Consumers))
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Postgres:ConnectionString"] = Postgres.ConnectionString,
                ["Kafka:BootstrapServers"] = Kafka.BootstrapServers,
                ["Worker:ManagementUrls"] = $"http://127.0.0.1:{FreePort.Next()}",
                ["Logging:LogLevel:Default"] = "Warning",
                ["Relay:Enabled"] = "true",
                ["Relay:Topic"] = _topic,
                ["Relay:DeadLetterTopic"] = _topic + ".dlq",
                ["Relay:TopicPartitions"] = "3",
                ["Relay:MaxIdlePollMs"] = "20",
                ["Relay:OwnershipCheckIntervalMs"] = "100",
                ["Consumers:Topic"] = _topic,
                ["Consumers:DeadLetterTopic"] = _topic + ".dlq",
                ["Consumers:TopicPartitions"] = "3",
                ["Consumers:PollTimeoutMs"] = "50",
                ["Consumers:AutoCommitIntervalMs"] = "100",
                ["Consumers:SessionTimeoutMs"] = "2000",
                ["Consumers:Enabled:Notifications"] = "false",
                ["Consumers:Enabled:Fraud"] = "false",
                ["Consumers:Enabled:Accounting"] = "false",
                ["Consumers:Enabled:Loyalty"] = "false",
                ["Idempotency:Purge:IntervalMs"] = "3600000",
            }).Build());
        await _worker.StartAsync();

        var secrets = new DevSecrets(Path.Combine(_state, "secrets"));
        secrets.Set(AuthOptions.DevSecretName, _devKey);
        DashboardUrl = $"http://127.0.0.1:{FreePort.Next()}";
        _dashboard = DashboardHost.Build(new ConfigurationBuilder().AddInMemoryCollection(DashboardSettings()).Build(), devSecrets: secrets);
        await _dashboard.StartAsync();
    }

    /// <summary>The dashboard's settings; a test building a second dashboard changes some of them.</summary>
    public Dictionary<string, string?> DashboardSettings() => new()
    {
        ["Dashboard:Urls"] = DashboardUrl,
        ["Dashboard:ManagementUrls"] = $"http://127.0.0.1:{FreePort.Next()}",
        ["Dashboard:ApiUrl"] = BaseUrl,
        ["Dashboard:KeysDirectory"] = Path.Combine(_state, "keys"),
        ["Dashboard:StreamHeartbeatMs"] = "2000",
        ["Dashboard:PageSize"] = "20",
        ["Postgres:ConnectionString"] = Postgres.ConnectionString,
        ["Kafka:BootstrapServers"] = Kafka.BootstrapServers,
        ["Consumers:Topic"] = _topic,
        ["Consumers:DeadLetterTopic"] = _topic + ".dlq",
        ["Auth:Issuer"] = "payrail-test",
        ["Auth:Audience"] = "payrail-api",
        ["Auth:AllowDevKey"] = "true",
        ["Logging:LogLevel:Default"] = "Warning",
    };

    /// <summary>A client of the dashboard holding <paramref name="token"/> as its session cookie, as a signed-in browser would.</summary>
    public HttpClient DashboardClient(string? token, bool followRedirects = false)
    {
        var cookies = new CookieContainer();
        if (token is not null) cookies.Add(new Uri(DashboardUrl), new Cookie(DashboardSession.CookieName, token));
        return new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = followRedirects })
            { BaseAddress = new Uri(DashboardUrl), Timeout = TimeSpan.FromSeconds(30) };
    }

    public string MerchantToken(string merchantId, TimeSpan? lifetime = null) =>
        Token(Roles.Merchant, "u_" + merchantId, merchantId, lifetime);

    /// <summary>A payment through the API, as a buyer: 201 and its id.</summary>
    public async Task<Guid> PayAsync(string merchantId, long amount = 1999, string currency = "USD", string capture = "automatic",
        string buyer = "b_dash", string paymentMethod = "pm_card_visa")
    {
        var answer = await PostPaymentAsync(BuyerToken(buyer), Guid.NewGuid().ToString(),
            Body(amount, currency, paymentMethod, capture, merchantId));
        Assert.True(answer.Status is 201, answer.Body);
        return answer.PaymentId;
    }

    /// <summary>Moves an authorized payment to captured through the one state-change path (the capture route is issue 11's).</summary>
    public async Task CaptureThroughTransitionsAsync(Guid paymentId)
    {
        var store = TestPaymentStores.For(Database);
        var transitions = new PaymentTransitions(store, Options.Create(new PaymentsOptions()), TimeProvider.System);
        var payment = await store.FindAsync(paymentId) ?? throw new InvalidOperationException("no such payment");
        var result = await transitions.ApplyAsync(payment, new PaymentTransition(
            new PspOutcome(PaymentEvent.Captured, payment.PspReference, payment.AmountMinor, null, null), payment.Psp ?? "stripe", "test:capture"), []);
        Assert.Equal(TransitionResultKind.Applied, result.Kind);
    }

    /// <summary>The merchant's stream log as (seq, payment, status), in order.</summary>
    public async Task<List<(long Seq, Guid PaymentId, string Status)>> StreamLogAsync(string merchantId)
    {
        await using var command = Database.CreateCommand(
            "SELECT seq, payment_id, status FROM dashboard_updates WHERE merchant_id = @m ORDER BY seq");
        command.Parameters.AddWithValue("m", merchantId);
        var rows = new List<(long, Guid, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows.Add((reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2)));
        return rows;
    }

    /// <summary>Waits until the merchant's stream log holds <paramref name="rows"/> rows, and returns them.</summary>
    public async Task<List<(long Seq, Guid PaymentId, string Status)>> UntilLoggedAsync(string merchantId, int rows)
    {
        await Eventually.TrueAsync(async () => (await StreamLogAsync(merchantId)).Count >= rows, TimeSpan.FromSeconds(30),
            $"{rows} rows in {merchantId}'s stream log");
        var log = await StreamLogAsync(merchantId);
        Assert.Equal(rows, log.Count);
        return log;
    }

    /// <summary>Waits until the payment's dashboard row is at <paramref name="status"/> (the consumer has applied it).</summary>
    public Task UntilDashboardStatusAsync(Guid paymentId, string status) => Eventually.TrueAsync(async () =>
        await TextAsync("SELECT status FROM dashboard_payments WHERE payment_id = @id", paymentId) == status,
        TimeSpan.FromSeconds(30), $"the dashboard consumer records {paymentId} as {status}");

    public async Task AddMerchantAsync(string merchantId, string name)
    {
        await using var command = Database.CreateCommand("INSERT INTO merchants (id, name) VALUES (@id, @name) ON CONFLICT DO NOTHING");
        command.Parameters.AddWithValue("id", merchantId);
        command.Parameters.AddWithValue("name", name);
        await command.ExecuteNonQueryAsync();
    }

    public override async Task DisposeAsync()
    {
        if (_dashboard is not null) await _dashboard.DisposeAsync();
        if (_worker is not null) await _worker.DisposeAsync();
        await Kafka.DisposeAsync();
        if (Database is not null) await Database.DisposeAsync();
        await base.DisposeAsync();
        try { Directory.Delete(_state, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardStack>
{
    public const string Name = "dashboard";
}

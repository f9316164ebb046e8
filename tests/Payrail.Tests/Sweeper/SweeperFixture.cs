using Payrail.Tests.Worker;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Payrail.Testing;
using Payrail.Tests.Payments;
using Payrail.Worker;

namespace Payrail.Tests.Sweeper;

/// <summary>
/// The payment service (a 3 s synchronous budget, no transport retries, so one fault leaves a payment processing) and
/// any number of worker hosts on the same database and pspsim, whose sweepers a test runs by hand on a clock it moves.
/// pspsim's search shows an intent at once (SearchLagMs 0) and Payrail believes it at once (SearchFreshnessMs 0).
/// </summary>
public class SweeperFixture : PaymentsApiFixture, Xunit.IAsyncLifetime
{
    private readonly List<WebApplication> _workers = [];

    public SweeperFixture() => PspSim.ExtraArgs.Add("--PspSim:SearchLagMs=0");

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Payments:SyncBudgetMs", "3000"),
        new("Stripe:MaxNetworkRetries", "0"),
        new("Stripe:SearchFreshnessMs", "0"),
    ];

    /// <summary>A sweeper of its own (`payrail sweep --once`'s services, nothing started) that runs when the test calls it.</summary>
    public Payrail.Sweeper.Sweeper NewSweeper(TimeProvider clock, params (string Key, string Value)[] settings)
    {
        var host = Payrail.Sweeper.SweepCommand.Build(Configuration(settings), services => services.AddSingleton(clock));
        lock (_workers) _workers.Add(host);
        return host.Services.GetRequiredService<Payrail.Sweeper.Sweeper>();
    }

    /// <summary>A worker host (not started) on this fixture's database and pspsim, with a management listener on a free port.</summary>
    public WebApplication NewWorker(TimeProvider clock, params (string Key, string Value)[] settings)
    {
        var worker = WorkerHost.Build(Configuration(settings), services => services.AddSingleton(clock));
        lock (_workers) _workers.Add(worker);
        return worker;
    }

    private IConfiguration Configuration((string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = Postgres.ConnectionString,
            ["Worker:ManagementUrls"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["Stripe:BaseUrl"] = PspSim.BaseUrl,
            ["Stripe:ApiKey"] = PspSim.ApiKey,
            ["Stripe:MaxNetworkRetries"] = "0",
            ["Stripe:SearchFreshnessMs"] = "0",
            ["Idempotency:Purge:IntervalMs"] = "60000",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings) values[key] = value;
        return new ConfigurationBuilder().AddInMemoryCollection(WorkerLoopsOff.AllBut(WorkerLoopsOff.Sweeper)).AddInMemoryCollection(values).Build();
    }

    /// <summary>A payment left processing by a PSP fault on its create (202); the fault is consumed by then.</summary>
    public async Task<ApiAnswer> StuckPaymentAsync(string fault, long amount = 1999, string paymentMethod = "pm_card_visa", string capture = "automatic")
    {
        await PspSim.AddFaultAsync(fault, count: 1, pathPrefix: "/v1/payment_intents", method: "POST");
        try
        {
            var answer = await PostPaymentAsync(BuyerToken("b_" + Guid.NewGuid().ToString("N")[..10]), Guid.NewGuid().ToString(),
                Body(amount: amount, paymentMethod: paymentMethod, capture: capture));
            return answer;
        }
        finally
        {
            await PspSim.ResetAsync();
        }
    }

    public async Task<string> StatusAsync(Guid paymentId) =>
        (string)(await ScalarTextAsync("SELECT status FROM payments WHERE id = @id", paymentId))!;

    public async Task<object?> ScalarTextAsync(string sql, Guid paymentId)
    {
        await using var connection = await Postgres.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("id", paymentId);
        return await command.ExecuteScalarAsync();
    }

    public new async Task DisposeAsync()
    {
        foreach (var worker in _workers) await worker.DisposeAsync();
        await base.DisposeAsync();
    }
}


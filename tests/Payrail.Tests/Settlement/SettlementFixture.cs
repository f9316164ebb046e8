using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Payrail.Ledger;
using Payrail.Settlement;
using Payrail.Tests.Payments;
using Payrail.Tests.Worker;
using Payrail.Worker;
using Stripe;
using System.Net.Http.Json;

namespace Payrail.Tests.Settlement;

/// <summary>
/// The payment service (automatic capture books a balance transaction at pspsim) and settlement runs on the same database
/// and pspsim. pspsim's clock is moved past the payout delay by the tests; the run date is far enough ahead (with a long
/// lookback) that every balance transaction created on the moved clock falls in its window.
/// </summary>
public sealed class SettlementFixture : PaymentsApiFixture, Xunit.IAsyncLifetime
{
    private readonly List<WebApplication> _hosts = [];

    public static DateOnly RunDate { get; } = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(30);

    public IConfiguration Configuration(params (string Key, string Value)[] settings) => Configuration(null, settings);

    private IConfiguration Configuration(string? keptLoop, (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = Postgres.ConnectionString,
            ["Stripe:BaseUrl"] = PspSim.BaseUrl,
            ["Stripe:ApiKey"] = PspSim.ApiKey,
            ["Settlement:LookbackDays"] = "60",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings) values[key] = value;
        return new ConfigurationBuilder().AddInMemoryCollection(WorkerLoopsOff.AllBut(keptLoop)).AddInMemoryCollection(values).Build();
    }

    /// <summary>A settlement of its own (`payrail settle --once`'s services, nothing started) that runs when the test calls it.</summary>
    public DailySettlement NewSettlement(params (string Key, string Value)[] settings)
    {
        var host = SettleCommand.Build(Configuration(settings));
        lock (_hosts) _hosts.Add(host);
        return host.Services.GetRequiredService<DailySettlement>();
    }

    /// <summary>A worker host (not started) running only the settlement loop, with a management listener on a free port.</summary>
    public WebApplication NewWorker(TimeProvider clock, params (string Key, string Value)[] settings)
    {
        var worker = WorkerHost.Build(Configuration(WorkerLoopsOff.Settlement,
            [("Worker:ManagementUrls", $"http://127.0.0.1:{Payrail.Testing.FreePort.Next()}"), .. settings]), services => services.AddSingleton(clock));
        lock (_hosts) _hosts.Add(worker);
        return worker;
    }

    public Task<SettlementReport> SettleAsync() => NewSettlement().RunOnceAsync(RunDate, SettlementReport.OnceTrigger, CancellationToken.None);

    /// <summary>pspsim past its payout delay (2 days): every charge booked so far is available.</summary>
    public Task PassPayoutDelayAsync() => PspSim.AdvanceClockAsync(TimeSpan.FromDays(2) + TimeSpan.FromMinutes(1));

    /// <summary>A payment captured at once (automatic capture) through the API.</summary>
    public async Task<(Guid PaymentId, string PspReference)> CapturedPaymentAsync(long amount = 1999, string currency = "USD", string merchantId = MerchantId,
        string paymentMethod = "pm_card_visa")
    {
        var answer = await PostPaymentAsync(BuyerToken("b_" + Guid.NewGuid().ToString("N")[..10]), Guid.NewGuid().ToString(),
            Body(amount: amount, currency: currency, paymentMethod: paymentMethod, merchantId: merchantId));
        if (answer.Status != 201 && answer.Status != 200) throw new InvalidOperationException($"payment answered {answer.Status}: {answer.Body}");
        return (answer.PaymentId, answer.Json.GetProperty("psp_reference").GetString()!);
    }

    /// <summary>pspsim's charge balance transaction of a PaymentIntent, read with plain Stripe.net (the test's own view).</summary>
    public async Task<BalanceTransaction> ChargeLineAsync(string pspReference)
    {
        var client = new StripeClient(PspSim.ApiKey, httpClient: new SystemNetHttpClient(maxNetworkRetries: 0), apiBase: PspSim.BaseUrl);
        var lines = await new BalanceTransactionService(client).ListAsync(new BalanceTransactionListOptions
            { Type = "charge", Limit = 100, Expand = ["data.source"] });
        return lines.Data.Single(l => l.Source is Charge charge && charge.PaymentIntentId == pspReference);
    }

    /// <summary>pspsim's refund-side balance transactions (refunds and refund failures) of a PaymentIntent, oldest first.</summary>
    public async Task<List<BalanceTransaction>> RefundLinesAsync(string pspReference)
    {
        var client = new StripeClient(PspSim.ApiKey, httpClient: new SystemNetHttpClient(maxNetworkRetries: 0), apiBase: PspSim.BaseUrl);
        var found = new List<BalanceTransaction>();
        foreach (var type in new[] { "refund", "refund_failure" })
        {
            var lines = await new BalanceTransactionService(client).ListAsync(new BalanceTransactionListOptions
                { Type = type, Limit = 100, Expand = ["data.source"] });
            found.AddRange(lines.Data.Where(l => l.Source is Refund refund && refund.PaymentIntentId == pspReference));
        }
        return found.OrderBy(l => l.Created).ThenBy(l => l.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>pspsim books <paramref name="count"/> captured USD charges created at <paramref name="created"/> (its bulk generator).</summary>
    public async Task BulkChargesAsync(string tag, int count, DateTimeOffset created, long amount)
    {
        using var http = new HttpClient();
        using var response = await http.PostAsJsonAsync($"{PspSim.BaseUrl}/_sim/balance_transactions/bulk",
            new { count, tag, created = created.ToUnixTimeSeconds(), amount, currency = "usd" });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>A merchant of its own, whose payable may go negative or not (its ledger accounts are created with that flag).</summary>
    public async Task<string> CreateMerchantAsync(bool payableMayGoNegative)
    {
        var id = "m_fx_" + Guid.NewGuid().ToString("N")[..8];
        await using var connection = await Postgres.OpenAsync();
        await using var command = new NpgsqlCommand("INSERT INTO merchants (id, name, payable_may_go_negative) VALUES (@id, 'Settlement test', @negative)", connection);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("negative", payableMayGoNegative);
        await command.ExecuteNonQueryAsync();
        return id;
    }

    /// <summary>POST /v1/payments/{id}/refunds as the payment's merchant, under a fresh idempotency key.</summary>
    public async Task<ApiAnswer> RefundAsync(Guid paymentId, string merchantId, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/payments/{paymentId}/refunds")
        {
            Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
            Token(Payrail.Auth.Roles.Merchant, "u_" + merchantId, merchantId));
        request.Headers.TryAddWithoutValidation("Idempotency-Key", Guid.NewGuid().ToString());
        using var response = await Http.SendAsync(request);
        return await ApiAnswer.ReadAsync(response);
    }

    /// <summary>The merchant's balances by currency (`payrail balances`' rows).</summary>
    public async Task<Dictionary<string, MerchantBalance>> BalancesAsync(string merchantId)
    {
        await using var connection = await Postgres.OpenAsync();
        return (await MerchantBalances.ReadAsync(connection, merchantId, CancellationToken.None)).ToDictionary(b => b.Currency);
    }

    /// <summary>The posted transfers of a payment: step name (by its deterministic id) → (debit owner, credit owner, amount, currency).</summary>
    public async Task<List<(Guid Id, string Debit, string Credit, long Amount, string Currency)>> TransfersAsync(Guid paymentId)
    {
        await using var connection = await Postgres.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT t.id, d.owner, c.owner, t.amount_minor, t.currency::text FROM ledger_transfers t
            JOIN ledger_accounts d ON d.id = t.debit_account_id JOIN ledger_accounts c ON c.id = t.credit_account_id
            WHERE t.payment_id = @id ORDER BY t.created_at, t.id
            """, connection);
        command.Parameters.AddWithValue("id", paymentId);
        var rows = new List<(Guid, string, string, long, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows.Add((reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetString(4)));
        return rows;
    }

    public async Task<IReadOnlyList<LedgerViolation>> VerifyLedgerAsync()
    {
        await using var connection = await Postgres.OpenAsync();
        return await LedgerVerification.VerifyAsync(connection);
    }

    public async Task<string> StatusAsync(Guid paymentId) =>
        (await TextAsync("SELECT status FROM payments WHERE id = @id", paymentId))!;

    public override async Task DisposeAsync()
    {
        foreach (var host in _hosts) await host.DisposeAsync();
        await base.DisposeAsync();
    }
}

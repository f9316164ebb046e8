using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Payrail.Reconciliation;
using Payrail.Settlement;
using Payrail.Tests.Payments;
using Payrail.Tests.Worker;
using Stripe;

namespace Payrail.Tests.Reconciliation;

/// <summary>
/// The payment service, settlement and reconciliation on one database and one pspsim (no webhook endpoint is registered
/// and no sweeper runs: a payment the PSP decides later stays behind at Payrail until something replays it). Each run
/// writes its reports into a directory of this fixture's own.
/// </summary>
public class ReconciliationFixture : PaymentsApiFixture
{
    private readonly List<WebApplication> _hosts = [];
    private readonly HttpClient _sim = new() { Timeout = TimeSpan.FromSeconds(60) };

    public string ReportsDirectory { get; } = Path.Combine(Path.GetTempPath(), "payrail-recon-" + Guid.NewGuid().ToString("N"));

    public static DateOnly SettlementDate { get; } = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(30);

    public IConfiguration Configuration(params (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = Postgres.ConnectionString,
            ["Stripe:BaseUrl"] = PspSim.BaseUrl,
            ["Stripe:ApiKey"] = PspSim.ApiKey,
            ["Settlement:LookbackDays"] = "60",
            ["Reconciliation:ReportsDirectory"] = ReportsDirectory,
            // Every line is old enough to be decided: the tests say which lines are young.
            ["Reconciliation:TimingWindow"] = "00:00:00",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Payrail.Reconciliation"] = "None",
        };
        foreach (var (key, value) in settings) values[key] = value;
        return new ConfigurationBuilder().AddInMemoryCollection(WorkerLoopsOff.AllBut()).AddInMemoryCollection(values).Build();
    }

    /// <summary>`payrail reconcile`'s services (nothing started), the run called by the test.</summary>
    public WindowReconciliation NewReconciliation(params (string Key, string Value)[] settings)
    {
        var host = ReconcileCommand.Build(Configuration(settings));
        lock (_hosts) _hosts.Add(host);
        return host.Services.GetRequiredService<WindowReconciliation>();
    }

    public Task<ReconciliationReport> ReconcileAsync(ReconciliationWindow window, bool dryRun = false) =>
        NewReconciliation().RunAsync(window, ReconciliationReport.OnceTrigger, dryRun, CancellationToken.None);

    /// <summary>`payrail reconcile` in process: its exit code, stdout and stderr.</summary>
    public async Task<(int ExitCode, string Output, string Error)> CommandAsync(ReconcileCommand.Arguments args, params (string Key, string Value)[] settings)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await ReconcileCommand.RunAsync(Configuration(settings), args, output, error, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>A window from <paramref name="from"/> to now (its end must not be in the future).</summary>
    public static ReconciliationWindow UntilNow(DateTimeOffset from) => new(from, DateTimeOffset.UtcNow.AddMilliseconds(-1));

    /// <summary>Now, down to the second: PSP timestamps are whole seconds, so what the test makes next is inside.</summary>
    public static DateTimeOffset WindowStart() => DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    public async Task<(Guid PaymentId, string PspReference, string Status)> PaymentAsync(long amount = 1999, string currency = "USD",
        string paymentMethod = "pm_card_visa", string capture = "automatic")
    {
        var answer = await PostPaymentAsync(BuyerToken("b_" + Guid.NewGuid().ToString("N")[..10]), Guid.NewGuid().ToString(),
            Body(amount: amount, currency: currency, paymentMethod: paymentMethod, capture: capture));
        if (answer.Status is not (200 or 201 or 202)) throw new InvalidOperationException($"payment answered {answer.Status}: {answer.Body}");
        return (answer.PaymentId, answer.Json.GetProperty("psp_reference").GetString()!, answer.PaymentStatus!);
    }

    public async Task<JsonElement> RefundAsync(Guid paymentId, long amount)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/payments/{paymentId}/refunds")
        {
            Content = JsonContent.Create(new { amount }),
        };
        request.Headers.Authorization = new("Bearer", Token(Payrail.Auth.Roles.Merchant, "u_recon", MerchantId));
        request.Headers.TryAddWithoutValidation("Idempotency-Key", Guid.NewGuid().ToString());
        using var response = await Http.SendAsync(request);
        var answer = await ApiAnswer.ReadAsync(response);
        if (answer.Status is not (200 or 201 or 202)) throw new InvalidOperationException($"refund answered {answer.Status}: {answer.Body}");
        return answer.Json;
    }

    public Task<SettlementReport> SettleAsync()
    {
        var host = SettleCommand.Build(Configuration());
        lock (_hosts) _hosts.Add(host);
        return host.Services.GetRequiredService<DailySettlement>().RunOnceAsync(SettlementDate, SettlementReport.OnceTrigger, CancellationToken.None);
    }

    /// <summary>pspsim's charge balance transaction of a PaymentIntent, read with plain Stripe.net.</summary>
    public async Task<BalanceTransaction> ChargeLineAsync(string pspReference)
    {
        var client = new StripeClient(PspSim.ApiKey, httpClient: new SystemNetHttpClient(maxNetworkRetries: 0), apiBase: PspSim.BaseUrl);
        var lines = await new BalanceTransactionService(client).ListAsync(new BalanceTransactionListOptions
            { Type = "charge", Limit = 100, Expand = ["data.source"] });
        return lines.Data.Single(l => l.Source is Charge charge && charge.PaymentIntentId == pspReference);
    }

    /// <summary>The PSP books another fee on a charge's balance transaction than the one it booked (pspsim's fee fault).</summary>
    public async Task SetFeeAsync(string balanceTransaction, long fee)
    {
        using var response = await _sim.PostAsJsonAsync($"{PspSim.BaseUrl}/_sim/balance_transactions/{balanceTransaction}/fee", new { fee });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>pspsim books <paramref name="count"/> captured charges created at <paramref name="created"/> (its bulk generator).</summary>
    public async Task BulkChargesAsync(string tag, int count, DateTimeOffset created, long amount)
    {
        using var response = await _sim.PostAsJsonAsync($"{PspSim.BaseUrl}/_sim/balance_transactions/bulk",
            new { count, tag, created = created.ToUnixTimeSeconds(), amount, currency = "usd" });
        response.EnsureSuccessStatusCode();
    }

    public override async Task DisposeAsync()
    {
        foreach (var host in _hosts) await host.DisposeAsync();
        _sim.Dispose();
        await base.DisposeAsync();
        try { Directory.Delete(ReportsDirectory, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }
}

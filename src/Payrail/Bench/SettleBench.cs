using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Npgsql;
using Payrail.Reconciliation;
using Payrail.Settlement;

namespace Payrail.Bench;

/// <summary>
/// `payrail bench settle --lines N [--write-batch B]` (issue 11 "settlement speed"), not a test: N captured USD charges
/// generated at the running pspsim (its bulk control call, created three days ago, so past the payout delay) and N
/// matching CAPTURED payments in a scratch database, then one settlement run for today in this process, as `payrail
/// settle --once` runs it. Prints lines per second and this process's CPU seconds (PostgreSQL's and pspsim's are their
/// own processes).
/// </summary>
public static class SettleBench
{
    private const string Database = "payrail_bench_settle";
    private const string Merchant = "m_bench";

    public static async Task<int> RunAsync(IConfiguration configuration, string adminConnectionString, int lines, int writeBatch,
        CancellationToken cancellationToken)
    {
        if (lines is < 1 or > 1_000_000 || writeBatch is < 1 or > 1_000)
        {
            Console.Error.WriteLine("payrail bench settle: --lines must be within [1, 1000000], --write-batch within [1, 1000]");
            return 2;
        }
        var pspBase = configuration["Stripe:BaseUrl"]?.TrimEnd('/') ?? "";
        var connectionString = await ScratchDatabase.CreateAsync(adminConnectionString, Database, Merchant, cancellationToken);
        var tag = "s" + Guid.NewGuid().ToString("N")[..10];
        var at = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddDays(-3).ToUnixTimeSeconds());
        var generate = Stopwatch.StartNew();
        using (var http = new HttpClient { Timeout = TimeSpan.FromMinutes(20) })
        {
            using var response = await http.PostAsJsonAsync($"{pspBase}/_sim/balance_transactions/bulk",
                new { count = lines, tag, created = at.ToUnixTimeSeconds(), amount = 1_000, currency = "usd" }, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"payrail bench settle: pspsim at {pspBase} refused the bulk lines ({(int)response.StatusCode}); is `payrail up` running?");
                return 2;
            }
        }
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await ReconciliationSeed.CapturedPaymentsAsync(connection, "stripe", Merchant, tag, lines, at, 1_000, cancellationToken);
            await using var analyze = new NpgsqlCommand("ANALYZE", connection);
            await analyze.ExecuteNonQueryAsync(cancellationToken);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"generated        {lines:N0} lines at pspsim and in {Database} in {generate.Elapsed.TotalSeconds:N1} s"));

        var settings = new ConfigurationBuilder().AddConfiguration(configuration).AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = connectionString,
            ["Stripe:MaxSettlementLines"] = "1000000",
            ["Settlement:WriteBatchSize"] = writeBatch.ToString(CultureInfo.InvariantCulture),
            ["Settlement:RunTimeout"] = "01:00:00",
            ["Logging:LogLevel:Default"] = "Warning",
        }).Build();
        await using var app = SettleCommand.Build(settings);
        var settlement = app.Services.GetRequiredService<DailySettlement>();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var report = await settlement.RunOnceAsync(DateOnly.FromDateTime(DateTime.UtcNow), SettlementReport.OnceTrigger, cancellationToken);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"settled          {report.Settled / report.Duration.TotalSeconds,10:N0} payments/s  ({report.Settled:N0} of {report.LinesRead:N0} lines in {report.Duration.TotalSeconds:N1} s; {report.Summary})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"cpu              {cpu.TotalSeconds:N1} s in this process ({cpu.TotalMilliseconds * 1000 / Math.Max(1, report.Settled):N0} µs per payment), write batch {writeBatch}"));
        return report.Settled == lines ? 0 : 1;
    }
}

using System.Globalization;
using Payrail.Auth;
using Payrail.DevEnvironment;

namespace Payrail.Bench;

/// <summary>
/// `payrail bench`: payments/s and latency percentiles through `payrail api`, then pgbench's
/// TPC-B-like baseline on the same PostgreSQL, printed as one ratio from one run.
/// </summary>
public static class BenchCommand
{
    private const int MaxConcurrency = 1_024;
    private const int MaxSeconds = 3_600;
    private const int MaxRatePerSecond = 100_000;

    public static async Task<int> RunAsync(IConfiguration configuration, int concurrency, int seconds, int? rate,
        string? url, string merchant, bool pgbench, CancellationToken cancellationToken)
    {
        if (concurrency is < 1 or > MaxConcurrency || seconds is < 1 or > MaxSeconds || rate is < 1 or > MaxRatePerSecond)
        {
            Console.Error.WriteLine($"--concurrency 1-{MaxConcurrency}, --seconds 1-{MaxSeconds}, --rate 1-{MaxRatePerSecond}");
            return 2;
        }
        var apiUrl = new Uri(url ?? configuration["Api:Urls"]?.Split(';')[0] ?? "http://127.0.0.1:8081");
        // A fresh buyer per run keeps runs independent; the merchant is shared, as in production.
        var buyer = $"bench_{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}";
        var token = DevTokens.Issue(AuthOptions.ForDevTool(configuration), Roles.Buyer, buyer, null,
            TimeSpan.FromSeconds(seconds + 600), TimeProvider.System.GetUtcNow());

        Console.WriteLine($"POST {apiUrl}v1/payments for {seconds} s, " +
            (rate is { } r ? $"open loop at {r}/s" : $"closed loop with {concurrency} clients") + $", merchant {merchant}");
        var result = await PaymentsBench.RunAsync(
            new PaymentsBenchOptions(apiUrl, token, merchant, concurrency, TimeSpan.FromSeconds(seconds), rate, RequestTimeoutMs: 30_000),
            cancellationToken);
        PrintPayments(result);

        if (!pgbench) return result.Failed == 0 ? 0 : 1;
        Console.WriteLine($"pgbench tpcb-like, {concurrency} clients, {seconds} s, same PostgreSQL ...");
        var tps = await PgBenchBaseline.RunAsync(PgBenchConnectionString(configuration), concurrency,
            TimeSpan.FromSeconds(seconds), cancellationToken);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"pgbench     {tps,10:0.0} tps\nratio       {result.PaymentsPerSecond / tps,10:0.000} payments/s ÷ pgbench tps"));
        return result.Failed == 0 ? 0 : 1;
    }

    /// <summary>pgbench needs its own database: the local cluster's superuser creates it; a configured server must allow it.</summary>
    private static string PgBenchConnectionString(IConfiguration configuration) =>
        LocalServers.IsPostgresConfigured(configuration)
            ? LocalServers.PostgresConnectionString(configuration)
            : LocalServers.Postgres(configuration, DevSecrets.ForProject()).SuperuserConnectionString();

    private static void PrintPayments(PaymentsBenchResult result)
    {
        var h = result.LatencyMicros;
        string Ms(double percentile) => (h.GetValueAtPercentile(percentile) / 1000.0).ToString("0.00", CultureInfo.InvariantCulture);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"payments    {result.PaymentsPerSecond,10:0.0} /s  ({result.Succeeded} succeeded, {result.Failed} failed in {result.Seconds:0.0} s)"));
        Console.WriteLine($"latency ms  p50 {Ms(50)}  p90 {Ms(90)}  p99 {Ms(99)}  p99.9 {Ms(99.9)}  max {Ms(100)}");
        foreach (var (kind, count) in result.ErrorsByKind.OrderByDescending(e => e.Value))
            Console.WriteLine($"error       {count,10}  {kind}");
    }
}

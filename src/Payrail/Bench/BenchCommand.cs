using System.Globalization;
using Payrail.Auth;
using Payrail.DevEnvironment;
using Spectre.Console;

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
            (rate is { } r ? $"open loop at {r}/s" : $"closed loop with {concurrency} clients") + $", merchant {merchant}, " +
            $"from {DateTime.UtcNow:HH:mm:ss.fff} UTC");
        var psp = PspProbe.LocalPsp(configuration);
        var probe = psp is null ? Task.FromResult<LatencyReport?>(null)
            : ProbeAsync(psp, configuration["Stripe:ApiKey"]!, TimeSpan.FromSeconds(seconds), cancellationToken);
        var result = await PaymentsBench.RunAsync(
            new PaymentsBenchOptions(apiUrl, token, merchant, concurrency, TimeSpan.FromSeconds(seconds), rate, RequestTimeoutMs: 30_000),
            cancellationToken);
        Print(result, await probe);

        if (!pgbench) return result.Failed == 0 ? 0 : 1;
        Console.WriteLine($"pgbench tpcb-like, {concurrency} clients, {seconds} s, same PostgreSQL ...");
        var tps = await PgBenchBaseline.RunAsync(PgBenchConnectionString(configuration), concurrency,
            TimeSpan.FromSeconds(seconds), cancellationToken);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"pgbench     {tps,10:0.0} tps\nratio       {result.PerSecond / tps,10:0.000} payments/s ÷ pgbench tps"));
        return result.Failed == 0 ? 0 : 1;
    }

    /// <summary>pgbench needs its own database: the local cluster's superuser creates it; a configured server must allow it.</summary>
    private static string PgBenchConnectionString(IConfiguration configuration) =>
        LocalServers.IsPostgresConfigured(configuration)
            ? LocalServers.PostgresConnectionString(configuration)
            : LocalServers.Postgres(configuration, DevSecrets.ForProject()).SuperuserConnectionString();

    private static async Task<LatencyReport?> ProbeAsync(Uri psp, string apiKey, TimeSpan duration, CancellationToken cancellationToken) =>
        await PspProbe.RunAsync(psp, apiKey, duration, requestTimeoutMs: 30_000, cancellationToken);

    /// <summary>One table: Payrail's figures and, beside them, the PSP stand-in's own (same duration, same clock).</summary>
    private static void Print(LatencyReport payments, LatencyReport? probe)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumn(new TableColumn("ms").NoWrap())
            .AddColumns(new[] { "ok/s", "ok", "failed", "p50", "p99", "p99.9", "max", "stall", "at s" }
                .Select(c => new TableColumn(c).RightAligned()).ToArray());
        LatencyReport[] reports = probe is null ? [payments] : [payments, probe];
        foreach (var r in reports)
        {
            string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
            table.AddRow(Markup.Escape(r.Target), F(r.PerSecond, "0.0"), F(r.Succeeded, "0"), F(r.Failed, "0"), F(r.Millis(50), "0.0"),
                F(r.Millis(99), "0.0"), F(r.Millis(99.9), "0.0"), F(r.Millis(100), "0.0"), F(r.LongestStall.TotalMilliseconds, "0.0"),
                F(r.LongestStallEnd.TotalSeconds, "0.0"));
        }
        AnsiConsole.Write(table);
        Console.WriteLine($"{PaymentsBench.Target}: {PaymentsBench.Request}; {PspProbe.Target}: {PspProbe.Request} at {PspProbe.RatePerSecond}/s, straight to the PSP");
        Console.WriteLine("latency: from when each request was due; stall: the longest time no request completed while one was outstanding, ended at s into the run");
        if (probe is null) Console.WriteLine("pspsim not probed: Stripe:BaseUrl is not a stand-in on this machine");
        foreach (var r in reports)
        foreach (var (kind, count) in r.ErrorsByKind.OrderByDescending(e => e.Value))
            Console.WriteLine($"error {count,10}  {r.Target}: {kind}");
    }
}

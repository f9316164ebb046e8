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

    /// <summary>
    /// Buyers of a `--via gateway` run: each is used once every this many requests, so at any rate this bench reaches
    /// no buyer nears its limit (10/s, burst 20) and the run measures forwarding, not refusals.
    /// </summary>
    private const int GatewayBenchBuyers = 4_096;

    private static readonly TimeSpan DirectWarmUp = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync(IConfiguration configuration, int concurrency, int seconds, int? rate,
        string? url, string merchant, bool pgbench, CancellationToken cancellationToken, string? via = null)
    {
        if (concurrency is < 1 or > MaxConcurrency || seconds is < 1 or > MaxSeconds || rate is < 1 or > MaxRatePerSecond)
        {
            Console.Error.WriteLine($"--concurrency 1-{MaxConcurrency}, --seconds 1-{MaxSeconds}, --rate 1-{MaxRatePerSecond}");
            return 2;
        }
        if (via is not (null or "gateway"))
        {
            Console.Error.WriteLine("--via must be gateway (or absent: straight to the API)");
            return 2;
        }
        var apiUrl = new Uri(url ?? configuration["Api:Urls"]?.Split(';')[0] ?? "http://127.0.0.1:8081");
        if (via == "gateway") return await ViaGatewayAsync(configuration, apiUrl, concurrency, seconds, rate, merchant, cancellationToken);
        // A fresh buyer per run keeps runs independent; the merchant is shared, as in production.
        var buyer = $"bench_{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}";
        var token = DevTokens.Issue(AuthOptions.ForDevTool(configuration), Roles.Buyer, buyer, null,
            TimeSpan.FromSeconds(seconds + 600), TimeProvider.System.GetUtcNow());

        Console.WriteLine($"POST {apiUrl}v1/payments for {seconds} s, " +
            (rate is { } r ? $"open loop at {r}/s" : $"closed loop with {concurrency} clients") + $", merchant {merchant}, " +
            $"after {DirectWarmUp.TotalSeconds:0} s unrecorded, from {DateTime.UtcNow:HH:mm:ss.fff} UTC");
        // Unrecorded warm-up at the same load: the bench's own JIT, thread pool growth and connections are not the
        // service's latency (they showed as a 100-170 ms stall in the first 0.2 s of every run).
        await PaymentsBench.RunAsync(new PaymentsBenchOptions(apiUrl, [token], merchant, concurrency, DirectWarmUp, rate,
            RequestTimeoutMs: 30_000, Label: "warm-up"), cancellationToken);
        var psp = PspProbe.LocalPsp(configuration);
        var probe = psp is null ? Task.FromResult<LatencyReport?>(null)
            : ProbeAsync(psp, configuration["Stripe:ApiKey"]!, TimeSpan.FromSeconds(seconds), cancellationToken);
        var result = await PaymentsBench.RunAsync(
            new PaymentsBenchOptions(apiUrl, [token], merchant, concurrency, TimeSpan.FromSeconds(seconds), rate, RequestTimeoutMs: 30_000),
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

    /// <summary>
    /// The same load straight to the API, then through the gateway, in one run: throughput ratio and added p99. Both
    /// runs rotate over the same many buyers and pay the same merchant.
    /// </summary>
    private static async Task<int> ViaGatewayAsync(IConfiguration configuration, Uri apiUrl, int concurrency, int seconds, int? rate,
        string merchant, CancellationToken cancellationToken)
    {
        var gatewayUrl = new Uri((configuration["Gateway:Urls"] is { Length: > 0 } g ? g : Payrail.Gateway.GatewayOptions.DefaultUrls).Split(';')[0]);
        var auth = AuthOptions.ForDevTool(configuration);
        var run = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var tokens = Enumerable.Range(0, GatewayBenchBuyers).Select(i => DevTokens.Issue(auth, Roles.Buyer,
            $"bench_{run}_{i}", null, TimeSpan.FromSeconds(2 * seconds + 600), TimeProvider.System.GetUtcNow())).ToList();
        Console.WriteLine($"POST /v1/payments for {seconds} s straight to {apiUrl}, then {seconds} s through {gatewayUrl}, " +
            (rate is { } r ? $"open loop at {r}/s" : $"closed loop with {concurrency} clients") + $", {GatewayBenchBuyers} buyers in turn");
        // Unrecorded warm-up of both paths (JIT, connection pools): otherwise whichever runs first looks slower.
        var warmUp = TimeSpan.FromSeconds(Math.Min(5, seconds));
        foreach (var target in new[] { apiUrl, gatewayUrl })
            await PaymentsBench.RunAsync(new PaymentsBenchOptions(target, tokens, merchant, concurrency, warmUp, rate, RequestTimeoutMs: 30_000,
                Label: "warm-up"), cancellationToken);
        var direct = await PaymentsBench.RunAsync(new PaymentsBenchOptions(apiUrl, tokens, merchant, concurrency,
            TimeSpan.FromSeconds(seconds), rate, RequestTimeoutMs: 30_000, Label: "direct"), cancellationToken);
        var viaGateway = await PaymentsBench.RunAsync(new PaymentsBenchOptions(gatewayUrl, tokens, merchant, concurrency,
            TimeSpan.FromSeconds(seconds), rate, RequestTimeoutMs: 30_000, Label: "gateway"), cancellationToken);
        PrintTable([direct, viaGateway]);
        Console.WriteLine(LatencyLegend);
        PrintErrors([direct, viaGateway]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"gateway/direct {viaGateway.PerSecond / direct.PerSecond,8:0.000} throughput ratio (target >= 0.8)\n" +
            $"added p99      {viaGateway.Millis(99) - direct.Millis(99),8:0.00} ms (target < 2 ms); added p50 {viaGateway.Millis(50) - direct.Millis(50):0.00} ms"));
        return direct.Failed == 0 && viaGateway.Failed == 0 ? 0 : 1;
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
        LatencyReport[] reports = probe is null ? [payments] : [payments, probe];
        PrintTable(reports);
        Console.WriteLine($"{PaymentsBench.Target}: {PaymentsBench.Request}; {PspProbe.Target}: {PspProbe.Request} at {PspProbe.RatePerSecond}/s, straight to the PSP");
        Console.WriteLine(LatencyLegend);
        if (probe is null) Console.WriteLine("pspsim not probed: Stripe:BaseUrl is not a stand-in on this machine");
        PrintErrors(reports);
    }

    private const string LatencyLegend =
        "latency: from when each request was due; stall: the longest time no request completed while one was outstanding, ended at s into the run";

    private static void PrintTable(LatencyReport[] reports)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumn(new TableColumn("ms").NoWrap())
            .AddColumns(new[] { "ok/s", "ok", "failed", "p50", "p99", "p99.9", "max", "stall", "at s" }
                .Select(c => new TableColumn(c).RightAligned()).ToArray());
        foreach (var r in reports)
        {
            string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
            table.AddRow(Markup.Escape(r.Target), F(r.PerSecond, "0.0"), F(r.Succeeded, "0"), F(r.Failed, "0"), F(r.Millis(50), "0.0"),
                F(r.Millis(99), "0.0"), F(r.Millis(99.9), "0.0"), F(r.Millis(100), "0.0"), F(r.LongestStall.TotalMilliseconds, "0.0"),
                F(r.LongestStallEnd.TotalSeconds, "0.0"));
        }
        AnsiConsole.Write(table);
    }

    private static void PrintErrors(LatencyReport[] reports)
    {
        foreach (var r in reports)
        foreach (var (kind, count) in r.ErrorsByKind.OrderByDescending(e => e.Value))
            Console.WriteLine($"error {count,10}  {r.Target}: {kind}");
    }
}

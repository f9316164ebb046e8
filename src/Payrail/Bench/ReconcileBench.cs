using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Http.Json;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Payrail.DevEnvironment;
using Payrail.Reconciliation;

namespace Payrail.Bench;

/// <summary>
/// `payrail bench reconcile --lines N` (issue 13 "Performance"), not a test: N captured charges generated at the running
/// pspsim (its bulk control call, created two hours ago over a minute, under tags of this run) and N matching payments in a scratch
/// database (set-based SQL), then one reconciliation run of a two-minute window around them, in this process. Prints
/// lines per second and the process's peak working set (the run holds one key's lines at a time: it should not grow with N),
/// and per phase (read: the PSP's lines into the run's table; decide: merge, decisions, items, reports, completion) its
/// lines per second and the CPU seconds of this process and of the PostgreSQL server (read from /proc: a server on this
/// machine; a shared machine slows a phase down but adds nothing to these processes' CPU time).
/// </summary>
public static class ReconcileBench
{
    private const string Database = "payrail_bench_reconcile";
    private const string Merchant = "m_bench";

    public static async Task<int> RunAsync(IConfiguration configuration, string adminConnectionString, int lines, CancellationToken cancellationToken)
    {
        if (lines is < 1 or > 1_000_000)
        {
            Console.Error.WriteLine("payrail bench reconcile: --lines must be within [1, 1000000]");
            return 2;
        }
        var pspBase = configuration["Stripe:BaseUrl"]?.TrimEnd('/') ?? "";
        var connectionString = await ScratchDatabase.CreateAsync(adminConnectionString, Database, Merchant, cancellationToken);
        var tag = "b" + Guid.NewGuid().ToString("N")[..8];
        var at = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddHours(-2).ToUnixTimeSeconds());
        var generate = Stopwatch.StartNew();
        int postmaster;
        // The lines are spread over the window's first SpreadSeconds, one tag per second, as a day's are over the day (all
        // in one second, no reader could list a slice of the window: every line would be in one slice).
        var seconds = Math.Min(SpreadSeconds, lines);
        using (var http = new HttpClient { Timeout = TimeSpan.FromMinutes(20) })
        {
            for (var s = 0; s < seconds; s++)
            {
                using var response = await http.PostAsJsonAsync($"{pspBase}/_sim/balance_transactions/bulk",
                    new { count = Share(lines, seconds, s), tag = tag + s, created = at.AddSeconds(s).ToUnixTimeSeconds(), amount = 1_000, currency = "usd" },
                    cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    Console.Error.WriteLine($"payrail bench reconcile: pspsim at {pspBase} refused the bulk lines ({(int)response.StatusCode}); is `payrail up` running?");
                    return 2;
                }
            }
        }
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync(cancellationToken);
            for (var s = 0; s < seconds; s++)
                await ReconciliationSeed.CapturedPaymentsAsync(connection, "stripe", Merchant, tag + s, Share(lines, seconds, s), at.AddSeconds(s), 1_000,
                    cancellationToken);
            // VACUUM too: the generated rows' visibility settled as a day's would be by autovacuum, not by the run's first read
            // (nor by an autovacuum of a million fresh rows while the run is measured).
            await using var analyze = new NpgsqlCommand("VACUUM ANALYZE", connection) { CommandTimeout = 600 };
            await analyze.ExecuteNonQueryAsync(cancellationToken);
            await using var backend = new NpgsqlCommand("CHECKPOINT; SELECT pg_backend_pid()", connection);
            postmaster = ParentOf((int)(await backend.ExecuteScalarAsync(cancellationToken))!);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"generated        {lines:N0} lines at pspsim and in {Database} in {generate.Elapsed.TotalSeconds:N1} s"));

        // The last run's reports only: a million lines' CSV is 350 MB, and each run of the bench writes one.
        var reports = Path.Combine(Path.GetTempPath(), "payrail-bench-reconcile");
        if (Directory.Exists(reports)) Directory.Delete(reports, recursive: true);
        var settings = new ConfigurationBuilder().AddConfiguration(configuration).AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = connectionString,
            ["Reconciliation:ReportsDirectory"] = reports,
            ["Reconciliation:MaxLines"] = (lines + 1_000).ToString(CultureInfo.InvariantCulture),
            // The window holds this run's lines only: an earlier run's, minutes apart at the same pspsim, stay outside it.
            ["Reconciliation:ClockSkew"] = "00:00:00",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Payrail.Reconciliation.WindowReconciliation"] = "Information",
        }).Build();
        await using var app = ReconcileCommand.Build(settings);
        var reconciliation = app.Services.GetRequiredService<WindowReconciliation>();
        GC.Collect();
        var before = Process.GetCurrentProcess().WorkingSet64;
        var phases = new List<(string Phase, double Seconds, CpuSnapshot Cpu)>();
        // pspsim's pid as `up` wrote it (0: not started by `up`, its CPU is not shown): the PSP's share of the read.
        var pspsim = OsCommand.ReadPidFile(RunDirectory.ForProject().PidFile("pspsim"));
        using var listener = PhaseListener(postmaster, pspsim, phases);
        var start = CpuSnapshot.Take(postmaster, pspsim);
        var report = await reconciliation.RunAsync(new ReconciliationWindow(at.AddMinutes(-1), at.AddMinutes(1)), ReconciliationReport.BenchTrigger,
            dryRun: false, cancellationToken);
        var process = Process.GetCurrentProcess();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"reconciled       {report.PspLines / report.Duration.TotalSeconds,10:N0} PSP lines/s  ({report.PspLines:N0} lines, {report.Items:N0} items in {report.Duration.TotalSeconds:N1} s; {report.Summary})"));
        var previous = start;
        foreach (var (phase, phaseSeconds, cpu) in phases)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {phase,-14} {report.PspLines / phaseSeconds,10:N0} PSP lines/s  ({phaseSeconds:N2} s; CPU s: this process {cpu.Bench - previous.Bench:N2}, PostgreSQL {cpu.Postgres - previous.Postgres:N2}, pspsim {cpu.PspSim - previous.PspSim:N2})"));
            previous = cpu;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"memory           peak working set {process.PeakWorkingSet64 / 1024 / 1024:N0} MB (before the run {before / 1024 / 1024:N0} MB), managed heap now {GC.GetTotalMemory(false) / 1024 / 1024:N0} MB"));
        return report.PspLines == lines ? 0 : 1;
    }

    /// <summary>Each phase's end as the run records it, with every process's CPU time at that moment.</summary>
    private static MeterListener PhaseListener(int postmaster, int pspsim, List<(string, double, CpuSnapshot)> phases)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument is { Meter.Name: ReconciliationMetrics.MeterName, Name: ReconciliationMetrics.PhaseInstrument })
                    l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<double>((_, seconds, tags, _) =>
        {
            var phase = tags.Length > 0 ? tags[0].Value as string ?? "" : "";
            lock (phases) phases.Add((phase, seconds, CpuSnapshot.Take(postmaster, pspsim)));
        });
        listener.Start();
        return listener;
    }

    /// <summary>CPU seconds so far of this process, of the PostgreSQL server (every process of it, ended ones included) and of pspsim.</summary>
    private sealed record CpuSnapshot(double Bench, double Postgres, double PspSim)
    {
        public static CpuSnapshot Take(int postmaster, int pspsim) => new(Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds,
            PostgresCpuSeconds(postmaster), pspsim == 0 ? 0 : StatSeconds(pspsim, withChildren: false));
    }

    /// <summary>
    /// The server's CPU seconds from /proc: the postmaster's and its live children's own time, and the time of the children
    /// that ended (the postmaster reaped them). 0 for a server on another machine.
    /// </summary>
    private static double PostgresCpuSeconds(int postmaster) =>
        postmaster == 0 ? 0 : StatSeconds(postmaster, withChildren: true) + WorkerCpuBench.ChildrenOf(postmaster).Sum(p => StatSeconds(p, withChildren: true));

    private static double StatSeconds(int pid, bool withChildren)
    {
        var fields = StatFields(pid);
        if (fields is null) return 0;
        // After "pid (comm) ": utime, stime, cutime, cstime are fields 14-17, here 11-14.
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        if (withChildren) ticks += long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
        return ticks / 100.0; // USER_HZ
    }

    private static int ParentOf(int pid) => StatFields(pid) is { } fields ? int.Parse(fields[1], CultureInfo.InvariantCulture) : 0;

    private static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Seconds of the window the generated lines are spread over.</summary>
    private const int SpreadSeconds = 60;

    /// <summary>Second <paramref name="s"/>'s share of <paramref name="lines"/> (the first ones take the remainder).</summary>
    private static int Share(int lines, int seconds, int s) => lines / seconds + (s < lines % seconds ? 1 : 0);
}

using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Npgsql;
using NpgsqlTypes;
using Payrail.Consumers;
using Payrail.Database;
using Payrail.DevEnvironment;
using Payrail.Outbox;

namespace Payrail.Bench;

/// <summary>
/// `payrail bench worker` (issue 14 "Performance"), not a test: what one event costs on the worker's path, in CPU time,
/// per process. It starts a PostgreSQL cluster, devkafka and `payrail worker` of its own (separate processes, free ports,
/// a temporary directory), writes outbox rows at a steady rate as the API's commits would (a payment's initiated event,
/// then its authorized, captured and completed events), and reads each process's CPU time from /proc and the worker's
/// allocated bytes from its /metrics before and after the measured window. CPU time, not wall-clock: other work on a
/// shared machine slows a run down but does not add to these processes' CPU time.
/// Stages per event from the tables afterwards: commit → relay's mark, commit → merchant-dashboard row.
/// </summary>
public static class WorkerCpuBench
{
    private const string Merchant = "m_bench";
    private const string AppRole = "payrail";
    private const int EventsPerPayment = 4;
    private const int MaxRatePerSecond = 5_000;
    private const int MaxSeconds = 600;
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan MaxStart = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan MaxDrain = TimeSpan.FromSeconds(60);
    private static readonly double ClockTicksPerSecond = 100; // USER_HZ on Linux: /proc/<pid>/stat's unit

    /// <param name="workerDll">The payrail.dll whose worker is measured (null: this one): another build, for a before/after.</param>
    public static async Task<int> RunAsync(int rate, int seconds, int warmUpSeconds, IReadOnlyDictionary<string, string> settings,
        string? workerDll, CancellationToken cancellationToken, bool statements = false)
    {
        if (rate is < 1 or > MaxRatePerSecond || seconds is < 1 or > MaxSeconds || warmUpSeconds is < 0 or > MaxSeconds)
        {
            Console.Error.WriteLine($"--rate 1-{MaxRatePerSecond}, --seconds 1-{MaxSeconds}, --warm-up-seconds 0-{MaxSeconds}");
            return 2;
        }
        var root = Path.Combine(Path.GetTempPath(), "payrail-bench-worker-" + Guid.NewGuid().ToString("N")[..8]);
        var postgres = new LocalPostgres(new LocalPostgresOptions
        {
            ClusterDirectory = Path.Combine(root, "pg"), Port = FreePort(), SuperuserPassword = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
        });
        var children = new List<Process>();
        try
        {
            await postgres.StartAsync(cancellationToken);
            if (statements) await LoadStatementStatisticsAsync(postgres, cancellationToken);
            var appPassword = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            await postgres.EnsureDatabaseAsync("payrail", AppRole, appPassword, cancellationToken: cancellationToken);
            var connectionString = postgres.ConnectionString("payrail", AppRole, appPassword);
            DatabaseMigrator.Migrate(connectionString);

            var kafkaPort = FreePort();
            var kafka = Start(root, "devkafka", [LocalPlatform.SiblingBinary("DevKafka", "devkafka.dll"), "--port", Int(kafkaPort),
                "--data-dir", Path.Combine(root, "kafka")], new Dictionary<string, string>());
            children.Add(kafka);
            var management = $"http://127.0.0.1:{FreePort()}";
            var environment = new Dictionary<string, string>
            {
                ["PAYRAIL__Postgres__ConnectionString"] = connectionString,
                ["PAYRAIL__Kafka__BootstrapServers"] = $"127.0.0.1:{kafkaPort}",
                ["PAYRAIL__Worker__ManagementUrls"] = management,
                ["PAYRAIL__Logging__LogLevel__Default"] = "Warning",
                ["PAYRAIL__Consumers__Notifications__MailDirectory"] = Path.Combine(root, "mail"),
                ["PAYRAIL__Consumers__Accounting__SettlementDirectory"] = Path.Combine(root, "settlement"),
            };
            foreach (var (key, value) in settings) environment["PAYRAIL__" + key.Replace(":", "__", StringComparison.Ordinal)] = value;
            // As `up` starts it; a variable set in this shell wins (the runtime's own spin limit is 70).
            foreach (var (name, value) in PlatformRoles.WorkerRuntime) environment[name] = Environment.GetEnvironmentVariable(name) ?? value;
            var worker = Start(root, "worker", [workerDll ?? Path.Combine(AppContext.BaseDirectory, "payrail.dll"), "worker"], environment);
            children.Add(worker);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            await UntilReadyAsync(http, management + "/readyz", cancellationToken);

            var postmaster = OsCommand.ReadPidFile(Path.Combine(postgres.DataDirectory, "postmaster.pid"));
            var bootstrap = $"127.0.0.1:{kafkaPort}";
            // Warm-up at the same rate, then drained: the window starts owing nothing, and ends only when every event of it
            // took effect in every group. A group that falls behind would otherwise look cheaper (its work left outside the
            // window, in bigger batches later).
            await new Loader(connectionString, rate).RunAsync(TimeSpan.FromSeconds(warmUpSeconds), cancellationToken);
            if (!await UntilDrainedAsync(connectionString, bootstrap, settings, cancellationToken))
                Console.WriteLine($"the warm-up did not drain within {MaxDrain.TotalSeconds:0} s");
            var loader = new Loader(connectionString, rate);
            if (statements) await SuperuserAsync(postgres, "SELECT pg_stat_statements_reset()", cancellationToken);
            var before = await SnapshotAsync(http, management, worker, kafka, postmaster, cancellationToken);
            var from = DateTimeOffset.UtcNow;
            await loader.RunAsync(TimeSpan.FromSeconds(seconds), cancellationToken);
            var to = DateTimeOffset.UtcNow;
            var drained = await UntilDrainedAsync(connectionString, bootstrap, settings, cancellationToken);
            var after = await SnapshotAsync(http, management, worker, kafka, postmaster, cancellationToken);
            Print(rate, seconds, loader.Events, before, after, settings);
            await PrintStagesAsync(connectionString, from, to, cancellationToken);
            if (statements) await PrintStatementsAsync(postgres, loader.Events, cancellationToken);
            if (!drained) Console.WriteLine($"not drained within {MaxDrain.TotalSeconds:0} s: the worker did not keep up");
            return drained ? 0 : 1;
        }
        finally
        {
            foreach (var child in children)
            {
                try { child.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                child.Dispose();
            }
            await postgres.StopAsync(CancellationToken.None);
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>CPU seconds of each process (and PostgreSQL's, all of its processes but the loader's backend), worker's allocations.</summary>
    private sealed record Snapshot(double WorkerCpu, double KafkaCpu, double PostgresCpu, double WorkerAllocated,
        Dictionary<string, double> WorkerThreads);

    /// <summary>
    /// PostgreSQL's share is its live processes: the loader's backend, the stand-in for the API's commits, exits with its
    /// connection before the second snapshot, so it is never counted.
    /// </summary>
    private static async Task<Snapshot> SnapshotAsync(HttpClient http, string management, Process worker, Process kafka, int postmaster,
        CancellationToken cancellationToken)
    {
        var allocated = await AllocatedBytesAsync(http, management, cancellationToken);
        var postgres = CpuSeconds(postmaster) + ChildrenOf(postmaster).Sum(CpuSeconds);
        return new Snapshot(CpuSeconds(worker.Id) + ChildrenOf(worker.Id).Sum(CpuSeconds), CpuSeconds(kafka.Id), postgres, allocated,
            ThreadsByName(worker.Id));
    }

    /// <summary>
    /// CPU seconds of a process's live threads, summed by thread name with digits dropped (each consumer loop's thread is
    /// named for its consumer; librdkafka's are rdk:main, rdk:broker…; .NET's pool threads share a name).
    /// </summary>
    private static Dictionary<string, double> ThreadsByName(int pid)
    {
        var byName = new Dictionary<string, double>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var name = new string(stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')].Where(c => !char.IsAsciiDigit(c)).ToArray());
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var seconds = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / ClockTicksPerSecond;
                byName[name] = byName.GetValueOrDefault(name) + seconds;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return byName;
    }

    private static void Print(int rate, int seconds, long events, Snapshot before, Snapshot after, IReadOnlyDictionary<string, string> settings)
    {
        double PerEventUs(double b, double a) => (a - b) * 1e6 / events;
        var changed = settings.Count == 0 ? "" : "; " + string.Join(", ", settings.Select(s => $"{s.Key}={s.Value}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{events:N0} events ({rate} payments/s × {EventsPerPayment} events for {seconds} s, measured until all took effect); relay and consumers on{changed}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
            CPU per event (µs)          worker {PerEventUs(before.WorkerCpu, after.WorkerCpu),8:0}   devkafka {PerEventUs(before.KafkaCpu, after.KafkaCpu),8:0}   postgres {PerEventUs(before.PostgresCpu, after.PostgresCpu),8:0}
            CPU share of 1 core         worker {(after.WorkerCpu - before.WorkerCpu) / seconds,8:P1}   devkafka {(after.KafkaCpu - before.KafkaCpu) / seconds,8:P1}   postgres {(after.PostgresCpu - before.PostgresCpu) / seconds,8:P1}
            worker allocated per event  {(after.WorkerAllocated - before.WorkerAllocated) / events,8:N0} bytes
            """));
        var threads = after.WorkerThreads.Select(t => (Name: t.Key, Us: (t.Value - before.WorkerThreads.GetValueOrDefault(t.Key)) * 1e6 / events))
            .Where(t => t.Us >= 1).OrderByDescending(t => t.Us);
        Console.WriteLine("worker threads (µs per event): " + string.Join(", ", threads.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Name} {t.Us:0}"))));
    }

    /// <summary>
    /// pg_stat_statements in the bench's own cluster (preloaded: a restart), so a run can say which statements PostgreSQL
    /// spends its time on per event. Its own bookkeeping costs some CPU: compare CPU only between runs that both use it.
    /// </summary>
    private static async Task LoadStatementStatisticsAsync(LocalPostgres postgres, CancellationToken cancellationToken)
    {
        await SuperuserAsync(postgres, "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'", cancellationToken, "postgres");
        await postgres.StopAsync(cancellationToken);
        await postgres.StartAsync(cancellationToken);
        await SuperuserAsync(postgres, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements", cancellationToken, "postgres");
    }

    private static async Task SuperuserAsync(LocalPostgres postgres, string sql, CancellationToken cancellationToken, string database = "postgres")
    {
        // Unpooled: the cluster restarts in between, and a pooled connection would be a dead one.
        await using var connection = new NpgsqlConnection(
            new NpgsqlConnectionStringBuilder(postgres.SuperuserConnectionString(database)) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Statements per event of the window (the loader's outbox inserts and their commits left out), and execution time.</summary>
    private static async Task PrintStatementsAsync(LocalPostgres postgres, long events, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(postgres.SuperuserConnectionString("postgres"));
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT regexp_replace(left(query, 90), '\s+', ' ', 'g'), sum(calls)::bigint, sum(total_exec_time)
            FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
            WHERE d.datname = 'payrail' AND query NOT LIKE '%INSERT INTO outbox (id, aggregate_id, event_type, payload)%'
              AND query NOT LIKE '%pg_stat_statements%'
            GROUP BY 1 ORDER BY 3 DESC
            """, connection) { CommandTimeout = 60 };
        var rows = new List<(string Query, long Calls, double Ms)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken)) rows.Add((reader.GetString(0), reader.GetInt64(1), reader.GetDouble(2)));
        // The loader commits twice per payment: its COMMITs are among the rest, so they are taken off here.
        var loaderCommits = events / EventsPerPayment * 2;
        var calls = rows.Sum(r => r.Calls) - loaderCommits;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"statements per event (pg_stat_statements, loader's left out): {(double)calls / events:0.00}; execution {rows.Sum(r => r.Ms) * 1000 / events:0} µs per event"));
        foreach (var (query, count, ms) in rows.Take(14))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {(double)count / events,6:0.000}/event {ms * 1000 / events,7:0.0} µs  {query}"));
    }

    /// <summary>Per event of the window: commit → the relay's mark, commit → the merchant-dashboard consumer's row (transaction starts).</summary>
    private static async Task PrintStagesAsync(string connectionString, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT stage, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.95) WITHIN GROUP (ORDER BY ms),
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)
            FROM (SELECT '1 commit → relay marked published' AS stage, extract(epoch FROM o.published_at - o.occurred_at) * 1000 AS ms
                  FROM outbox o WHERE o.occurred_at >= @from AND o.occurred_at < @to
                  UNION ALL
                  SELECT '2 commit → dashboard row', extract(epoch FROM u.recorded_at - o.occurred_at) * 1000
                  FROM outbox o JOIN dashboard_updates u ON u.event_id = o.id WHERE o.occurred_at >= @from AND o.occurred_at < @to
                  UNION ALL
                  SELECT '3 commit → consumer tx (' || i.consumer || ')', extract(epoch FROM i.processed_at - o.occurred_at) * 1000
                  FROM outbox o JOIN consumer_inbox i ON i.event_id = o.id WHERE o.occurred_at >= @from AND o.occurred_at < @to) s
            GROUP BY stage ORDER BY stage
            """, connection) { CommandTimeout = 120 };
        command.Parameters.AddWithValue("from", from);
        command.Parameters.AddWithValue("to", to);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        Console.WriteLine("stage (ms, transaction start times)                 events      p50      p95      p99");
        while (await reader.ReadAsync(cancellationToken))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{reader.GetString(0),-50} {reader.GetInt64(1),8:N0} {reader.GetDouble(2),8:0.0} {reader.GetDouble(3),8:0.0} {reader.GetDouble(4),8:0.0}"));
    }

    /// <summary>Outbox rows at a steady rate, in the API's two commits per payment (initiated; authorized, captured, completed).</summary>
    private sealed class Loader(string connectionString, int rate)
    {
        private long _events;

        public long Events => Interlocked.Read(ref _events);

        /// <summary>Loads for <paramref name="duration"/>; the last tick's payments get no second commit (counted as sent).</summary>
        public async Task RunAsync(TimeSpan duration, CancellationToken cancellationToken)
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            var clock = Stopwatch.StartNew();
            long paid = 0;
            var created = new List<Guid>();
            using var timer = new PeriodicTimer(Tick);
            while (clock.Elapsed < duration && await timer.WaitForNextTickAsync(cancellationToken))
            {
                var due = (long)(clock.Elapsed.TotalSeconds * rate);
                var rows = new List<OutboxEvent>();
                var now = DateTimeOffset.UtcNow;
                // Last tick's payments complete now (the API's second commit); this tick's are created.
                foreach (var payment in created) rows.AddRange(Completed(payment, now));
                created.Clear();
                for (; paid < due; paid++)
                {
                    var payment = Guid.CreateVersion7(now);
                    created.Add(payment);
                    rows.Add(Event(EventTypes.PaymentInitiated, payment, 1, "initiated", 0, now));
                }
                if (rows.Count == 0) continue;
                await InsertAsync(connection, rows, cancellationToken);
                Interlocked.Add(ref _events, rows.Count);
            }
        }

        private static IEnumerable<OutboxEvent> Completed(Guid payment, DateTimeOffset now) =>
        [
            Event(EventTypes.PaymentAuthorized, payment, 2, "authorized", 0, now),
            Event(EventTypes.PaymentCaptured, payment, 3, "captured", 1999, now),
            Event(EventTypes.PaymentCompleted, payment, 3, "captured", 1999, now),
        ];

        private static OutboxEvent Event(string type, Guid payment, int version, string status, long captured, DateTimeOffset now) =>
            new(Guid.CreateVersion7(now), type, payment, version, now, null, new PaymentSnapshot(payment, status, 1999, "EUR", Merchant,
                "b_bench_" + (payment.GetHashCode() & 1023), "automatic", "stripe", "pi_" + payment.ToString("N"), captured, 0, null, null, now, now));

        private static async Task InsertAsync(NpgsqlConnection connection, List<OutboxEvent> rows, CancellationToken cancellationToken)
        {
            await using var command = new NpgsqlCommand("""
                INSERT INTO outbox (id, aggregate_id, event_type, payload)
                SELECT id, p, t, j FROM unnest(@ids, @payments, @types, @payloads::jsonb[]) WITH ORDINALITY AS r(id, p, t, j, n) ORDER BY n
                """, connection);
            command.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = rows.Select(r => r.Id).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("payments", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = rows.Select(r => r.PaymentId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("types", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Select(r => r.Type).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("payloads", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Select(r => r.ToJson()).ToArray() });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Nothing left unpublished and every enabled group's committed offsets at the end of the topic.</summary>
    private static async Task<bool> UntilDrainedAsync(string connectionString, string bootstrap, IReadOnlyDictionary<string, string> settings,
        CancellationToken cancellationToken)
    {
        var groups = ConsumerGroupLag.Groups.Where(g => !settings.TryGetValue("Consumers:Enabled:" + SwitchOf(g), out var on) || on != "false").ToList();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < MaxDrain)
        {
            await Task.Delay(200, cancellationToken);
            await using var command = new NpgsqlCommand("SELECT count(*) FROM outbox WHERE published_at IS NULL", connection);
            if ((long)(await command.ExecuteScalarAsync(cancellationToken))! > 0) continue;
            if (ConsumerGroupLag.Read(bootstrap, "payments.v1", groups, TimeSpan.FromSeconds(5)).All(l => l.Lag == 0)) return true;
        }
        return false;
    }

    /// <summary>The Consumers:Enabled switch of a group ("merchant-dashboard" → MerchantDashboard).</summary>
    private static string SwitchOf(string group) =>
        string.Concat(group.Split('-').Select(part => char.ToUpperInvariant(part[0]) + part[1..]));

    private static Process Start(string root, string name, string[] arguments, Dictionary<string, string> environment)
    {
        var log = Path.Combine(root, name + ".log");
        Directory.CreateDirectory(root);
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {name}");
        var writer = new StreamWriter(log) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (writer) writer.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (writer) writer.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task UntilReadyAsync(HttpClient http, string url, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < MaxStart)
        {
            try
            {
                using var response = await http.GetAsync(url, cancellationToken);
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested) { }
            await Task.Delay(200, cancellationToken);
        }
        throw new TimeoutException($"{url} not ready within {MaxStart.TotalSeconds:0} s");
    }

    /// <summary>The worker's bytes allocated since it started (.NET's System.Runtime meter on its /metrics).</summary>
    private static async Task<double> AllocatedBytesAsync(HttpClient http, string management, CancellationToken cancellationToken)
    {
        var text = await http.GetStringAsync(management + "/metrics", cancellationToken);
        foreach (var line in text.Split('\n'))
            if (line.StartsWith("dotnet_gc_heap_total_allocated_bytes", StringComparison.Ordinal))
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        return double.NaN;
    }

    /// <summary>utime + stime of a process from /proc (0 when it is gone).</summary>
    internal static double CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // After "pid (comm) ": state is field 3, so utime (14) and stime (15) are at 11 and 12.
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / ClockTicksPerSecond;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    internal static IEnumerable<int> ChildrenOf(int parent)
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), CultureInfo.InvariantCulture, out var pid)) continue;
            string stat;
            try { stat = File.ReadAllText(Path.Combine(directory, "stat")); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (int.Parse(fields[1], CultureInfo.InvariantCulture) == parent) yield return pid;
        }
    }

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}

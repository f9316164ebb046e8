using ConsoleAppFramework;
using Npgsql;
using Payrail.Bench;
using Payrail.Database;
using Payrail.DevEnvironment;
using Payrail.Ledger;
using Payrail.Merchants;

namespace Payrail.Cli;

/// <summary>The `payrail` commands. Each one delegates to its feature folder.</summary>
internal sealed class PlatformCommands
{
    /// <summary>Start the whole platform locally, every role a supervised child process; serve until Ctrl-C or `down`.</summary>
    [Command("up")]
    public async Task<int> Up() => await LocalPlatform.RunAsync(PayrailConfiguration.Load());

    /// <summary>Show each role of the running `up`: pid, uptime, restarts, health. Exits 1 when a role is down or nothing runs.</summary>
    [Command("status")]
    public async Task<int> Status(CancellationToken cancellationToken) =>
        await PlatformStatus.StatusAsync(PayrailConfiguration.Load(), cancellationToken);

    /// <summary>Stop the running `up` (from another shell) and wait until it has stopped every role.</summary>
    [Command("down")]
    public async Task<int> Down(CancellationToken cancellationToken) =>
        await PlatformStatus.DownAsync(PayrailConfiguration.Load(), cancellationToken);

    /// <summary>Apply the database migrations (Postgres:ConnectionString, else the local cluster).</summary>
    [Command("migrate")]
    public int Migrate()
    {
        var outcome = DatabaseMigrator.Migrate(LocalServers.PostgresConnectionString(PayrailConfiguration.Load()), Console.Out);
        Console.WriteLine(outcome.Applied.Count == 0 ? "database is up to date" : $"applied {outcome.Applied.Count} migration(s)");
        return 0;
    }

    /// <summary>Check every ledger invariant; prints OK or each offending row and exits 1 on any violation.</summary>
    [Command("ledger verify")]
    public async Task<int> LedgerVerify(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(LocalServers.PostgresConnectionString(PayrailConfiguration.Load()));
        await connection.OpenAsync(cancellationToken);
        var violations = await LedgerVerification.VerifyAsync(connection, cancellationToken);
        if (violations.Count == 0)
        {
            Console.WriteLine("OK: ledger is consistent");
            return 0;
        }
        foreach (var v in violations)
            Console.WriteLine($"VIOLATION {v.Invariant}: {v.Subject}: expected {v.Expected}, actual {v.Actual}");
        Console.WriteLine($"{violations.Count} violation(s)");
        return 1;
    }

    /// <summary>Register a merchant. Idempotent for the same id and name; a different name under an existing id fails.</summary>
    /// <param name="id">Merchant id, e.g. m_acme (1-64 of [A-Za-z0-9_-]).</param>
    /// <param name="name">Display name.</param>
    [Command("merchant create")]
    public async Task<int> MerchantCreate(string id, string name, CancellationToken cancellationToken)
    {
        if (!MerchantDirectory.ValidId().IsMatch(id) || name.Length is 0 or > 200)
        {
            Console.Error.WriteLine("merchant id must be 1-64 characters of [A-Za-z0-9_-] and name 1-200 characters");
            return 2;
        }
        await using var connection = new NpgsqlConnection(LocalServers.PostgresConnectionString(PayrailConfiguration.Load()));
        await connection.OpenAsync(cancellationToken);
        switch (await MerchantDirectory.CreateAsync(connection, id, name, cancellationToken))
        {
            case MerchantCreation.Created: Console.WriteLine($"created merchant {id}"); return 0;
            case MerchantCreation.AlreadyExists: Console.WriteLine($"merchant {id} already exists"); return 0;
            default: Console.Error.WriteLine($"merchant {id} already exists with a different name"); return 1;
        }
    }

    /// <summary>Run the payment service (POST /v1/payments and friends) on Api:Urls until Ctrl-C.</summary>
    [Command("api")]
    public async Task<int> Api(CancellationToken cancellationToken) =>
        await Payrail.Api.ApiCommand.RunAsync(PayrailConfiguration.Load(), cancellationToken);

    /// <summary>Run the worker (background loops: idempotency key purge, stuck-payment sweeper) with its management listener until Ctrl-C.</summary>
    [Command("worker")]
    public async Task<int> Worker(CancellationToken cancellationToken) =>
        await Payrail.Worker.WorkerCommand.RunAsync(PayrailConfiguration.Load(), cancellationToken);

    /// <summary>Run the API gateway (JWT, per-caller rate limit in Redis, limits) on Gateway:Urls until Ctrl-C.</summary>
    [Command("gateway")]
    public async Task<int> Gateway(CancellationToken cancellationToken) =>
        await Payrail.Gateway.GatewayCommand.RunAsync(PayrailConfiguration.Load(), cancellationToken);

    /// <summary>Run the merchant dashboard (web pages, live stream, actions through the API) on Dashboard:Urls until Ctrl-C.</summary>
    [Command("dashboard")]
    public async Task<int> Dashboard(CancellationToken cancellationToken) =>
        await Payrail.Dashboard.DashboardCommand.RunAsync(PayrailConfiguration.Load(), cancellationToken);

    /// <summary>
    /// One sweep of stuck payments, expired authorizations and missed PSP events (the worker runs it every
    /// Sweeper:Interval). Exits 0 when nothing is stuck, 1 when payments are still stuck, 2 when it could not run.
    /// </summary>
    /// <param name="once">Run one sweep and exit (required: the continuous sweeper is `payrail worker`).</param>
    [Command("sweep")]
    public async Task<int> Sweep(bool once = false, CancellationToken cancellationToken = default)
    {
        if (!once)
        {
            Console.Error.WriteLine("payrail sweep: pass --once for one sweep; `payrail worker` sweeps every Sweeper:Interval");
            return 2;
        }
        return await Payrail.Sweeper.SweepCommand.RunOnceAsync(PayrailConfiguration.Load(), cancellationToken);
    }

    /// <summary>
    /// One settlement run: captured payments whose funds the PSP released move to SETTLED, with their fees and cash in
    /// the ledger (the worker runs it on Settlement:Schedule). Exits 0 when done, 1 when some charges were refused, 2 when
    /// it could not run, 64 on a malformed date.
    /// </summary>
    /// <param name="once">Run once and exit (required: the scheduled settlement is `payrail worker`).</param>
    /// <param name="date">The UTC date to settle, YYYY-MM-DD (default today): balance transactions created up to its end.</param>
    [Command("settle")]
    public async Task<int> Settle(bool once = false, string? date = null, CancellationToken cancellationToken = default)
    {
        if (!once)
        {
            Console.Error.WriteLine("payrail settle: pass --once for one run; `payrail worker` settles on Settlement:Schedule");
            return 2;
        }
        return await Payrail.Settlement.SettleCommand.RunOnceAsync(PayrailConfiguration.Load(), date, cancellationToken);
    }

    /// <summary>
    /// Reconcile the books with the PSP's report for a window, line by line (the worker runs it on Reconciliation:Schedule).
    /// Exits 0 when there is no break, 2 when there is (each alerted), 1 on bad input or a run that could not complete.
    /// </summary>
    /// <param name="date">The UTC day to reconcile, YYYY-MM-DD (default: yesterday).</param>
    /// <param name="from">Start of the window (ISO 8601, UTC), with --to.</param>
    /// <param name="to">End of the window, exclusive (ISO 8601, UTC), with --from.</param>
    /// <param name="dryRun">Decide and report only: no replay, no alert event.</param>
    /// <param name="format">table (default) or json.</param>
    [Command("reconcile")]
    public async Task<int> Reconcile(string? date = null, string? from = null, string? to = null, bool dryRun = false, string format = "table",
        CancellationToken cancellationToken = default) =>
        await Payrail.Reconciliation.ReconcileCommand.RunAsync(PayrailConfiguration.Load(),
            new Payrail.Reconciliation.ReconcileCommand.Arguments(date, from, to, dryRun, format), Console.Out, Console.Error, cancellationToken);

    /// <summary>A merchant's balances per currency: captured, refunded, fees, conversions, payable, held, awaiting settlement.</summary>
    /// <param name="merchant">The merchant id.</param>
    /// <param name="format">table (default) or json.</param>
    [Command("balances")]
    public async Task<int> Balances(string merchant, string format = "table", CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(LocalServers.PostgresConnectionString(PayrailConfiguration.Load()));
        await connection.OpenAsync(cancellationToken);
        return await Payrail.Settlement.MerchantBalances.PrintAsync(connection, merchant, format, Console.Out, cancellationToken);
    }

    /// <summary>Print a development JWT (alone on the last line of stdout).</summary>
    /// <param name="role">buyer, merchant or ops.</param>
    /// <param name="sub">The subject: buyer id, merchant user id or operator id.</param>
    /// <param name="merchant">The merchant id (merchant tokens only).</param>
    /// <param name="ttlMinutes">Lifetime in minutes.</param>
    [Command("token")]
    public int Token(string role, string sub, string? merchant = null, int ttlMinutes = 60) =>
        Payrail.Auth.TokenCommand.Run(PayrailConfiguration.Load(), role, sub, merchant, ttlMinutes);

    /// <summary>Load the payment service and compare with pgbench on the same PostgreSQL.</summary>
    /// <param name="concurrency">Closed-loop clients (also pgbench's client count).</param>
    /// <param name="seconds">Duration of each of the two runs.</param>
    /// <param name="rate">Open loop: requests per second instead of closed-loop clients.</param>
    /// <param name="url">API base URL (default: Api:Urls).</param>
    /// <param name="merchant">Merchant paid by every request.</param>
    /// <param name="skipPgbench">Skip the pgbench baseline after the payments run.</param>
    /// <param name="via">gateway: the same load straight to the API, then through the gateway (Gateway:Urls); prints the throughput ratio and added p99.</param>
    [Command("bench")]
    public async Task<int> Bench(int concurrency = 16, int seconds = 20, int? rate = null, string? url = null,
        string merchant = "m_demo", bool skipPgbench = false, string? via = null, CancellationToken cancellationToken = default) =>
        await Payrail.Bench.BenchCommand.RunAsync(PayrailConfiguration.Load(), concurrency, seconds, rate, url, merchant, !skipPgbench,
            cancellationToken, via);

    /// <summary>Benchmark the webhook receiver: signed payment_intent.succeeded deliveries verified and applied, open loop.</summary>
    /// <param name="rate">Deliveries due per second (open loop).</param>
    /// <param name="seconds">Measured duration; rate × seconds payments are prepared first.</param>
    /// <param name="url">API base URL (default: the first of Api:Urls).</param>
    /// <param name="merchant">Merchant of the prepared payments.</param>
    [Command("bench webhooks")]
    public async Task<int> BenchWebhooks(int rate = 200, int seconds = 15, string? url = null, string merchant = "m_demo",
        CancellationToken cancellationToken = default) =>
        await WebhooksBench.RunAsync(PayrailConfiguration.Load(), rate, seconds, url, merchant, cancellationToken);

    /// <summary>
    /// Benchmark the dashboard (issue 14): payments open loop through the API while the merchant's live stream is read;
    /// commit (the 201) → row captured on the stream, p50/p95/p99/max, missing rows, and the target (p95 &lt; 1 s, p99 &lt; 2 s).
    /// </summary>
    /// <param name="rate">Payments due per second (open loop).</param>
    /// <param name="seconds">Measured duration (after 2 s unrecorded at the same rate).</param>
    /// <param name="merchant">The merchant paid, whose stream is watched.</param>
    /// <param name="url">API base URL (default: the first of Api:Urls).</param>
    /// <param name="dashboardUrl">Dashboard base URL (default: the first of Dashboard:Urls).</param>
    /// <param name="rowDeadlineMs">A payment not seen on the stream this long after its 201 is a missing row.</param>
    [Command("bench dashboard")]
    public async Task<int> BenchDashboard(int rate = 200, int seconds = 30, string merchant = "m_demo", string? url = null,
        string? dashboardUrl = null, int rowDeadlineMs = 10_000, CancellationToken cancellationToken = default) =>
        await DashboardBench.RunCommandAsync(PayrailConfiguration.Load(), rate, seconds, merchant, url, dashboardUrl, rowDeadlineMs,
            cancellationToken);

    /// <summary>
    /// Benchmark the worker's path per event (issue 14): a PostgreSQL, devkafka and `payrail worker` of its own, outbox rows
    /// at a steady rate; CPU time per event of each process, the worker's allocations per event, and the stages' latency.
    /// </summary>
    /// <param name="rate">Payments per second (four events each).</param>
    /// <param name="seconds">Measured window, after the warm-up.</param>
    /// <param name="warmUpSeconds">Seconds at the same rate before the window (JIT, pools, consumer groups).</param>
    /// <param name="set">Worker settings for the run, Section:Key=value, comma-separated (e.g. Relay:LingerMs=5).</param>
    /// <param name="workerDll">Another build's payrail.dll to run as the worker (a before/after on one harness).</param>
    /// <param name="statements">Preload pg_stat_statements in the bench's cluster and print statements and execution time per event.</param>
    [Command("bench worker")]
    public async Task<int> BenchWorker(int rate = 200, int seconds = 20, int warmUpSeconds = 20, string? set = null,
        string? workerDll = null, bool statements = false, CancellationToken cancellationToken = default) =>
        await WorkerCpuBench.RunAsync(rate, seconds, warmUpSeconds, (set ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => s.Split('=', 2)).ToDictionary(s => s[0].Trim(), s => s.Length > 1 ? s[1].Trim() : ""), workerDll, cancellationToken,
            statements);

    /// <summary>Benchmark the Kafka path: N messages with acks=all + idempotence, produced and consumed end to end.</summary>
    /// <param name="bootstrap">An existing broker (host:port); without it an in-process devkafka is started on a free port.</param>
    /// <param name="messages">Number of messages to produce.</param>
    /// <param name="size">Message size in bytes.</param>
    [Command("bench kafka")]
    public async Task<int> BenchKafka(string? bootstrap = null, int messages = 200_000, int size = 1024, CancellationToken cancellationToken = default) =>
        await KafkaBench.RunAsync(bootstrap, messages, size, cancellationToken);

    /// <summary>
    /// Benchmark reconciliation: N charges generated at the running pspsim and N payments in a scratch database, one run
    /// of their window; prints PSP lines per second and the peak working set.
    /// </summary>
    /// <param name="lines">PSP lines (charges) to generate and reconcile, at most 1,000,000.</param>
    [Command("bench reconcile")]
    public async Task<int> BenchReconcile(int lines = 100_000, CancellationToken cancellationToken = default)
    {
        var configuration = PayrailConfiguration.Load();
        var admin = LocalServers.IsPostgresConfigured(configuration)
            ? LocalServers.PostgresConnectionString(configuration)
            : LocalServers.Postgres(configuration, DevSecrets.ForProject()).SuperuserConnectionString();
        return await ReconcileBench.RunAsync(configuration, admin, lines, cancellationToken);
    }

    /// <summary>
    /// Benchmark settlement: N charges generated at the running pspsim and N captured payments in a scratch database, one
    /// settlement run; prints payments settled per second and this process's CPU seconds.
    /// </summary>
    /// <param name="lines">PSP lines (charges) to generate and settle, at most 1,000,000.</param>
    /// <param name="writeBatch">Payments per transaction (Settlement:WriteBatchSize; 1 is one transaction per payment).</param>
    [Command("bench settle")]
    public async Task<int> BenchSettle(int lines = 20_000, int writeBatch = 100, CancellationToken cancellationToken = default)
    {
        var configuration = PayrailConfiguration.Load();
        var admin = LocalServers.IsPostgresConfigured(configuration)
            ? LocalServers.PostgresConnectionString(configuration)
            : LocalServers.Postgres(configuration, DevSecrets.ForProject()).SuperuserConnectionString();
        return await SettleBench.RunAsync(configuration, admin, lines, writeBatch, cancellationToken);
    }

    /// <summary>
    /// Benchmark the outbox: pre-fill N outbox rows in a scratch database, time the relay draining them to Kafka, then the
    /// six consumers draining the topic; with --payments-seconds, commit → effect lag per consumer under `up`.
    /// </summary>
    /// <param name="events">Outbox rows to pre-fill and relay.</param>
    /// <param name="bootstrap">An existing broker (host:port); without it an in-process devkafka is started on a free port.</param>
    /// <param name="relays">Relays draining the outbox together (each its own session and producer); default Relay:Instances, what `up`'s worker runs.</param>
    /// <param name="batch">Relay:BatchSize for the run; default the configured one.</param>
    /// <param name="consumerBatch">Consumers:MaxBatchMessages for the consumers' drain (1: one transaction per message).</param>
    /// <param name="paymentsSeconds">Seconds of payments at half the closed-loop rate against the running platform (0: skip).</param>
    /// <param name="rate">The payments' rate per second (default: half of a 10 s closed-loop run's).</param>
    [Command("bench outbox")]
    public async Task<int> BenchOutbox(int events = 200_000, string? bootstrap = null, int? relays = null, int? batch = null,
        int consumerBatch = 500, int paymentsSeconds = 0, int? rate = null, CancellationToken cancellationToken = default)
    {
        var configuration = PayrailConfiguration.Load();
        var relay = configuration.GetSection(Payrail.Outbox.RelayOptions.SectionName).Get<Payrail.Outbox.RelayOptions>() ?? new();
        // A scratch database needs CREATE DATABASE: a configured server's role must allow it, the local cluster's superuser does.
        var admin = LocalServers.IsPostgresConfigured(configuration)
            ? LocalServers.PostgresConnectionString(configuration)
            : LocalServers.Postgres(configuration, DevSecrets.ForProject()).SuperuserConnectionString();
        var relayed = await OutboxBench.RunAsync(admin, bootstrap, events, relays ?? relay.Instances, batch ?? relay.BatchSize, consumerBatch,
            cancellationToken);
        if (paymentsSeconds <= 0 || relayed != 0) return relayed;
        return await ConsumersBench.LagAsync(configuration, LocalServers.PostgresConnectionString(configuration), paymentsSeconds, rate,
            cancellationToken);
    }
}

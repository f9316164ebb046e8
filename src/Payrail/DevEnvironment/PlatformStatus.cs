using System.Globalization;
using System.Net.Http.Json;
using System.Net.Sockets;
using Spectre.Console;

namespace Payrail.DevEnvironment;

/// <summary>`payrail status` and `payrail down`: read and stop a running `up` of this project from another shell.</summary>
public static class PlatformStatus
{
    public const string NotRunning = "Payrail is not running";
    private const int DownPollIntervalMs = 100;

    /// <summary>One role as `status` shows it: up means its process lives and its health probe (if any) answered.</summary>
    public sealed record RoleRow(RoleState State, bool ProcessAlive, string Health, bool Healthy, string Loops = "-")
    {
        public bool Up => State.State == RoleStates.Running && ProcessAlive && Healthy;
    }

    public static async Task<int> StatusAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        var options = SupervisorOptions.From(configuration);
        var run = RunDirectory.ForProject();
        if (run.RunningUpPid() is not { } upPid)
        {
            Console.WriteLine(NotRunning);
            return 1;
        }
        if (run.ReadState() is not { } state)
        {
            Console.WriteLine($"Payrail is starting (up pid {upPid}): PostgreSQL and Redis first, no role yet");
            return 1;
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromMilliseconds(options.HealthTimeoutMs) };
        var rows = await Task.WhenAll(state.Roles.Select(r => RowAsync(r, http, options, cancellationToken)));
        var now = DateTimeOffset.UtcNow;
        var table = new Table().AddColumns("role", "pid", "nice", "state", "uptime", "restarts", "health", "loops");
        foreach (var row in rows)
        {
            var s = row.State;
            table.AddRow(
                Markup.Escape(s.Role),
                s.Pid > 0 ? s.Pid.ToString(CultureInfo.InvariantCulture) : "-",
                row.ProcessAlive && Niceness(s.Pid) is { } nice ? nice.ToString(CultureInfo.InvariantCulture) : "-",
                row.Up ? "[green]up[/]" : $"[red]{Markup.Escape(row.ProcessAlive ? s.State : s.State == RoleStates.Running ? "dead" : s.State)}[/]",
                row.ProcessAlive && s.StartedAt is { } started ? Uptime(now - started) : "-",
                s.Restarts.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(row.Health),
                Markup.Escape(row.Loops));
        }
        AnsiConsole.Write(table);
        WriteConsumerLag(configuration, rows, options);
        var down = rows.Count(r => !r.Up);
        Console.WriteLine(down == 0
            ? $"every role is up (up pid {state.Pid}, since {Uptime(now - state.StartedAt)})"
            : $"{down} role(s) down (up pid {state.Pid})");
        return down == 0 ? 0 : 1;
    }

    /// <summary>A process's niceness (field 19 of /proc/&lt;pid&gt;/stat, its main thread's); null when it is gone.</summary>
    public static int? Niceness(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // After "pid (comm) " (comm may hold spaces and parentheses): state is field 3, nice field 19.
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static async Task<int> DownAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        var options = SupervisorOptions.From(configuration);
        var run = RunDirectory.ForProject();
        if (run.RunningUpPid() is not { } pid)
        {
            Console.WriteLine(NotRunning);
            return 1;
        }
        Console.WriteLine($"stopping   up pid {pid}");
        OsCommand.Terminate(pid);
        var until = DateTime.UtcNow + TimeSpan.FromMilliseconds(options.DownTimeoutMs);
        while (RunDirectory.IsRunning(pid))
        {
            if (DateTime.UtcNow >= until)
            {
                Console.Error.WriteLine($"up pid {pid} did not stop within {options.DownTimeoutMs / 1000} s; see .payrail/logs/");
                return 1;
            }
            // `up` is not our child: nothing to await but its pid going away, so poll within the deadline.
            await Task.Delay(DownPollIntervalMs, cancellationToken);
        }
        Console.WriteLine("Payrail stopped");
        return 0;
    }

    /// <summary>Each consumer group's lag on payments.v1, read from the broker (Consumers/ConsumerGroupLag), when the worker runs.</summary>
    private static void WriteConsumerLag(IConfiguration configuration, IReadOnlyList<RoleRow> rows, SupervisorOptions options)
    {
        if (!rows.Any(r => r.State.Role == PlatformRoles.Worker && r.ProcessAlive)) return;
        var bootstrap = configuration["Kafka:BootstrapServers"] is { Length: > 0 } k ? k : "127.0.0.1:9092";
        var topic = configuration["Consumers:Topic"] is { Length: > 0 } t ? t : "payments.v1";
        var lags = Consumers.ConsumerGroupLag.Read(bootstrap, topic, Consumers.ConsumerGroupLag.Groups,
            TimeSpan.FromMilliseconds(options.HealthTimeoutMs));
        Console.WriteLine($"consumer lag on {topic}: " + string.Join(" · ",
            lags.Select(l => $"{l.Group} {(l.Lag is { } lag ? lag.ToString(CultureInfo.InvariantCulture) : "?")}")));
    }

    private static async Task<RoleRow> RowAsync(RoleState role, HttpClient http, SupervisorOptions options, CancellationToken cancellationToken)
    {
        var alive = role.Pid > 0 && RunDirectory.IsRunning(role.Pid);
        if (!alive || role.HealthUrl is null) return new RoleRow(role, alive, "-", alive);
        var (health, healthy) = await ProbeAsync(role.HealthUrl, http, options, cancellationToken);
        var loops = role.Role == PlatformRoles.Worker && healthy ? await LoopsAsync(role.HealthUrl, http, options, cancellationToken) : "-";
        return new RoleRow(role, alive, health, healthy, loops);
    }

    /// <summary>The worker's loops (Worker/WorkerLoops.cs: /loops beside its /readyz), one "name: summary" per line.</summary>
    private static async Task<string> LoopsAsync(string healthUrl, HttpClient http, SupervisorOptions options, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.HealthTimeoutMs);
        try
        {
            var loops = await http.GetFromJsonAsync<Dictionary<string, string>>(new Uri(new Uri(healthUrl), Payrail.Worker.WorkerLoops.Path),
                deadline.Token);
            return loops is null || loops.Count == 0 ? "-" : string.Join("\n", loops.Values);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
        {
            return "unreachable";
        }
    }

    /// <summary>GET of an http(s) URL (200 is healthy), or a TCP connect for tcp://host:port; both bounded by HealthTimeoutMs.</summary>
    private static async Task<(string Health, bool Healthy)> ProbeAsync(string url, HttpClient http, SupervisorOptions options,
        CancellationToken cancellationToken)
    {
        var uri = new Uri(url);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.HealthTimeoutMs);
        try
        {
            if (uri.Scheme == "tcp")
            {
                using var client = new TcpClient();
                await client.ConnectAsync(uri.Host, uri.Port, deadline.Token);
                return ("accepting", true);
            }
            using var response = await http.GetAsync(uri, deadline.Token);
            var code = (int)response.StatusCode;
            return (code == 200 ? "ready" : $"HTTP {code}", code == 200);
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or OperationCanceledException)
        {
            return (deadline.IsCancellationRequested ? "timeout" : "unreachable", false);
        }
    }

    private static string Uptime(TimeSpan elapsed) => elapsed.TotalHours >= 1
        ? $"{(int)elapsed.TotalHours}h{elapsed.Minutes:00}m"
        : elapsed.TotalMinutes >= 1 ? $"{elapsed.Minutes}m{elapsed.Seconds:00}s" : $"{Math.Max(0, elapsed.Seconds)}s";
}

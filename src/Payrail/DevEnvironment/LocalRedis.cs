// The local platform runs on Linux (Debian's PostgreSQL and Redis): Unix file modes are always available.
#pragma warning disable CA1416
using System.Net.Sockets;
using System.Text;

namespace Payrail.DevEnvironment;

public sealed record LocalRedisOptions
{
    /// <summary>Holds redis.conf, the append-only file, the pid file and the log.</summary>
    public required string Directory { get; init; }
    public required int Port { get; init; }
    public required string Password { get; init; }
    public TimeSpan StartDeadline { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// A project-local Redis 7 (Debian's redis-server) on 127.0.0.1 only, protected mode on, a generated
/// password, nothing persisted and memory bounded (see <see cref="MaxMemoryMegabytes"/>). Idempotent start (a running
/// server with this password is reused); the server outlives this process until stopped. Stop is a graceful SIGTERM with
/// a deadline, then SIGKILL.
/// </summary>
public sealed class LocalRedis(LocalRedisOptions options)
{
    public const string ServerBinary = "redis-server";
    private static readonly TimeSpan StopDeadline = TimeSpan.FromSeconds(15);

    public LocalRedisOptions Options { get; } = options;
    public int Port => Options.Port;
    public string PidFile => Path.Combine(Options.Directory, "redis.pid");

    /// <summary>StackExchange.Redis configuration string. Holds the password: never log it (ConfigurationOptions.ToString() hides it).</summary>
    public string Configuration => $"127.0.0.1:{Port},password={Options.Password},abortConnect=false,connectTimeout=2000,syncTimeout=2000";

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        System.IO.Directory.CreateDirectory(Options.Directory);
        if (IsRunning && await PingAsync(cancellationToken).ConfigureAwait(false)) return;
        WriteConfig();
        // Not daemonized: a server that cannot bind its port exits at once and we report it instead of waiting out the deadline.
        var info = new System.Diagnostics.ProcessStartInfo(ServerBinary) { UseShellExecute = false };
        info.ArgumentList.Add(ConfigFile);
        using var process = System.Diagnostics.Process.Start(info) ?? throw new InvalidOperationException("could not start redis-server");
        var until = DateTime.UtcNow + Options.StartDeadline;
        while (!await PingAsync(cancellationToken).ConfigureAwait(false))
        {
            if (process.HasExited)
                throw new InvalidOperationException($"redis-server exited with code {process.ExitCode} on port {Port}: {LastLogLines()}");
            if (DateTime.UtcNow >= until)
            {
                process.Kill();
                throw new TimeoutException($"Redis did not answer on port {Port} within {Options.StartDeadline.TotalSeconds:0} s (see {LogFile})");
            }
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    private string LastLogLines()
    {
        try { return string.Join(" | ", File.ReadLines(LogFile).TakeLast(3)); }
        catch (IOException) { return "(no log)"; }
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        var pid = OsCommand.ReadPidFile(PidFile);
        if (!OsCommand.IsAlive(pid)) return;
        OsCommand.Terminate(pid);
        var until = DateTime.UtcNow + StopDeadline;
        while (OsCommand.IsAlive(pid))
        {
            if (DateTime.UtcNow >= until)
            {
                OsCommand.ForceKill(pid);
                break;
            }
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
        // SIGKILL is asynchronous too: wait until the port is really released for a restart on the same port.
        var killedUntil = DateTime.UtcNow + StopDeadline;
        while (OsCommand.IsAlive(pid) && DateTime.UtcNow < killedUntil) await Task.Delay(20, cancellationToken).ConfigureAwait(false);
    }

    public bool IsRunning => OsCommand.IsAlive(OsCommand.ReadPidFile(PidFile));

    private string ConfigFile => Path.Combine(Options.Directory, "redis.conf");
    private string LogFile => Path.Combine(Options.Directory, "redis.log");

    /// <summary>
    /// Redis is a cache here (idempotency answers, rate-limit buckets; PostgreSQL holds the truth and answers alone when a
    /// key is missing), so it keeps nothing on disk and evicts the least recently used keys past this bound. With an
    /// append-only file and no bound, 458,000 cached keys after 340,000 payments made a 350 MB file fsynced every second
    /// and rewritten whole, and each rewrite stalled PostgreSQL's commits on the same disk.
    /// </summary>
    public const int MaxMemoryMegabytes = 256;

    private void WriteConfig()
    {
        static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        var config = $"""
            bind 127.0.0.1
            port {Port}
            protected-mode yes
            requirepass {Quote(Options.Password)}
            daemonize no
            pidfile {Quote(PidFile)}
            dir {Quote(Options.Directory)}
            logfile {Quote(LogFile)}
            appendonly no
            save ""
            maxmemory {MaxMemoryMegabytes}mb
            maxmemory-policy volatile-lru
            maxclients 1000

            """;
        // The file holds the password: owner-only before anything is written into it.
        File.WriteAllText(ConfigFile, "");
        File.SetUnixFileMode(ConfigFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(ConfigFile, config);
    }

    /// <summary>AUTH + PING over raw RESP with a short timeout: true only when this server, with this password, answers.</summary>
    private async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", Port, timeout.Token).ConfigureAwait(false);
            var stream = client.GetStream();
            var password = Encoding.UTF8.GetBytes(Options.Password);
            var request = Encoding.UTF8.GetBytes($"*2\r\n$4\r\nAUTH\r\n${password.Length}\r\n{Options.Password}\r\n*1\r\n$4\r\nPING\r\n");
            await stream.WriteAsync(request, timeout.Token).ConfigureAwait(false);
            var expected = "+OK\r\n+PONG\r\n";
            var buffer = new byte[256];
            var received = 0;
            while (received < expected.Length)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(received), timeout.Token).ConfigureAwait(false);
                if (read == 0) return false;
                received += read;
            }
            return Encoding.ASCII.GetString(buffer, 0, received) == expected;
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}

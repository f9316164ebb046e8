// The local platform runs on Linux (Debian's PostgreSQL and Redis): Unix file modes are always available.
#pragma warning disable CA1416
using Npgsql;

namespace Payrail.DevEnvironment;

public sealed record LocalPostgresOptions
{
    /// <summary>Holds `data/` (the cluster), the unix socket and `postgres.log`. Every ancestor must be traversable by the `postgres` OS user when running as root.</summary>
    public required string ClusterDirectory { get; init; }
    public required int Port { get; init; }
    /// <summary>Password of the cluster superuser `postgres` (scram-sha-256 everywhere, even on the socket).</summary>
    public required string SuperuserPassword { get; init; }
    /// <summary>fsync and synchronous_commit on. Only throw-away test clusters turn this off.</summary>
    public bool Durable { get; init; } = true;
    public TimeSpan StartDeadline { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Every role, worker and consumer holds its own pool; test clusters serve many databases at once.</summary>
    public int MaxConnections { get; init; } = 200;
    /// <summary>
    /// PostgreSQL's own cache. Page-cache pages are not the database's to keep: this machine's kernel pages out cold ones
    /// (DAMON reclaim), and an autovacuum that read them back from disk stalled every commit behind its reads for half a
    /// second. Shared buffers stay resident (no swap), so `up` sizes them to hold the working set.
    /// </summary>
    public int SharedBuffersMegabytes { get; init; } = 128;
}

/// <summary>
/// A project-local PostgreSQL 15 cluster (Debian's binaries) on 127.0.0.1 only. Idempotent: reuses an
/// initialized cluster, starts it when not running, waits until it accepts connections.
/// PostgreSQL refuses to run as root, so as root every server command runs as the `postgres` OS user.
/// </summary>
public sealed class LocalPostgres(LocalPostgresOptions options)
{
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";
    public const string Superuser = "postgres";
    private const string ServerOsUser = "postgres";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    public LocalPostgresOptions Options { get; } = options;
    public string DataDirectory => Path.Combine(Options.ClusterDirectory, "data");
    public string LogFile => Path.Combine(Options.ClusterDirectory, "postgres.log");
    public int Port => Options.Port;

    public string ConnectionString(string database, string username, string password) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Options.Port,
        Database = database,
        Username = username,
        Password = password,
        Timeout = 5,
    }.ConnectionString;

    public string SuperuserConnectionString(string database = "postgres") => ConnectionString(database, Superuser, Options.SuperuserPassword);

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(Options.ClusterDirectory);
        await EnsureTraversableByServerUserAsync(Options.ClusterDirectory, cancellationToken).ConfigureAwait(false);
        if (!File.Exists(Path.Combine(DataDirectory, "PG_VERSION"))) await InitializeAsync(cancellationToken).ConfigureAwait(false);
        WriteSettings();
        if (!await IsRunningAsync(cancellationToken).ConfigureAwait(false))
        {
            var seconds = ((int)Options.StartDeadline.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var result = await RunAsServerAsync("pg_ctl", ["-D", DataDirectory, "-l", LogFile, "-w", "-t", seconds, "start"],
                Options.StartDeadline + TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
            if (result.ExitCode != 0)
                throw new InvalidOperationException($"PostgreSQL did not start on port {Port}: {result.Output.Trim()} (see {LogFile})");
        }
        await WaitReadyAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (!await IsRunningAsync(cancellationToken).ConfigureAwait(false)) return;
        await RunAsServerCheckedAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "-t", "30", "stop"], cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> IsRunningAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Path.Combine(DataDirectory, "postmaster.pid"))) return false;
        // pg_ctl status: 0 running, 3 not running (a stale postmaster.pid after a crash counts as not running).
        var result = await RunAsServerAsync("pg_ctl", ["-D", DataDirectory, "status"], CommandTimeout, cancellationToken).ConfigureAwait(false);
        return result.ExitCode == 0;
    }

    /// <summary>Creates <paramref name="role"/> (login, given password) and <paramref name="database"/> owned by it when missing; resets the role's password to the given one.</summary>
    public async Task EnsureDatabaseAsync(string database, string role, string password, string? template = null, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(SuperuserConnectionString());
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        // DDL takes no bind parameters: format() with %I/%L quotes identifiers and the password literal safely.
        var roleExists = await ScalarAsync<bool>(connection, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = @a)", role, null, cancellationToken).ConfigureAwait(false);
        var roleDdl = await ScalarAsync<string>(connection,
            roleExists ? "SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', @a, @b)" : "SELECT format('CREATE ROLE %I WITH LOGIN PASSWORD %L', @a, @b)",
            role, password, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, roleDdl, cancellationToken).ConfigureAwait(false);

        var databaseExists = await ScalarAsync<bool>(connection, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = @a)", database, null, cancellationToken).ConfigureAwait(false);
        if (databaseExists) return;
        var createDatabase = template is null
            ? await ScalarAsync<string>(connection, "SELECT format('CREATE DATABASE %I OWNER %I', @a, @b)", database, role, cancellationToken).ConfigureAwait(false)
            : await ScalarAsync<string>(connection, $"SELECT format('CREATE DATABASE %I OWNER %I TEMPLATE %I', @a, @b, {QuoteLiteral(template)})", database, role, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, createDatabase, cancellationToken).ConfigureAwait(false);
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(DataDirectory);
        var passwordFile = Path.Combine(Options.ClusterDirectory, ".initdb-password");
        File.WriteAllText(passwordFile, Options.SuperuserPassword);
        File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            if (OsCommand.IsRoot)
                await OsCommand.RunCheckedAsync("chown", ["-R", $"{ServerOsUser}:{ServerOsUser}", Options.ClusterDirectory], CommandTimeout, cancellationToken).ConfigureAwait(false);
            List<string> args = ["-D", DataDirectory, "-U", Superuser, $"--pwfile={passwordFile}", "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale"];
            if (!Options.Durable) args.Add("--no-sync");
            await RunAsServerCheckedAsync("initdb", args, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(passwordFile);
        }
        var mainConf = Path.Combine(DataDirectory, "postgresql.conf");
        File.AppendAllText(mainConf, "\n# Payrail's settings (rewritten on every start)\ninclude_if_exists = 'payrail.conf'\n");
    }

    /// <summary>
    /// Fewer, longer checkpoints: each one makes the next write of every page it flushed log the whole page, so at
    /// PostgreSQL's defaults (1 GB of WAL or 5 min) a steady 300 payments/s checkpointed every few minutes.
    /// </summary>
    private const string DurableCheckpoints = "max_wal_size = 4GB\ncheckpoint_timeout = 15min";

    private void WriteSettings()
    {
        var durable = Options.Durable ? "on" : "off";
        var settings = $"""
            listen_addresses = '127.0.0.1'
            port = {Port}
            unix_socket_directories = '{Options.ClusterDirectory.Replace("'", "''", StringComparison.Ordinal)}'
            unix_socket_permissions = 0700
            password_encryption = 'scram-sha-256'
            max_connections = {Options.MaxConnections}
            shared_buffers = {Options.SharedBuffersMegabytes}MB
            work_mem = 8MB
            maintenance_work_mem = 64MB
            fsync = {durable}
            synchronous_commit = {durable}
            full_page_writes = {durable}
            {(Options.Durable ? DurableCheckpoints : "")}
            log_min_messages = warning
            log_line_prefix = '%m [%p] '

            """;
        File.WriteAllText(Path.Combine(DataDirectory, "payrail.conf"), settings);
    }

    private async Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + Options.StartDeadline;
        var builder = new NpgsqlConnectionStringBuilder(SuperuserConnectionString()) { Pooling = false, Timeout = 2 };
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(builder.ConnectionString);
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            // A wrong password will not fix itself: only "not up yet" errors are retried.
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !IsAuthenticationFailure(e) && DateTime.UtcNow < until)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static bool IsAuthenticationFailure(Exception e) =>
        e is PostgresException { SqlState: PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification };

    /// <summary>
    /// PostgreSQL reaches its data through every ancestor directory, and it will not run as root.
    /// /root (mode 700) is the usual trap: the server user gets a traverse-only ACL entry on such a
    /// directory (no read, nobody else), instead of opening the directory to every user.
    /// </summary>
    private static async Task EnsureTraversableByServerUserAsync(string directory, CancellationToken cancellationToken)
    {
        if (!OsCommand.IsRoot) return;
        for (var dir = new DirectoryInfo(Path.GetFullPath(directory)).Parent; dir is not null; dir = dir.Parent)
        {
            if ((dir.UnixFileMode & UnixFileMode.OtherExecute) != 0) continue;
            var probe = await OsCommand.RunAsync("runuser", ["-u", ServerOsUser, "--", "test", "-x", dir.FullName], CommandTimeout, cancellationToken).ConfigureAwait(false);
            if (probe.ExitCode == 0) continue;
            var grant = await OsCommand.RunAsync("setfacl", ["-m", $"u:{ServerOsUser}:x", dir.FullName], CommandTimeout, cancellationToken).ConfigureAwait(false);
            if (grant.ExitCode != 0)
                throw new InvalidOperationException(
                    $"PostgreSQL runs as the '{ServerOsUser}' OS user and cannot traverse {dir.FullName} ({grant.Output.Trim()}). " +
                    $"Run `chmod o+x {dir.FullName}`, move the project elsewhere, or set PAYRAIL__Postgres__ConnectionString to an existing server.");
            Console.Error.WriteLine($"granted the '{ServerOsUser}' user traverse-only access to {dir.FullName} (ACL) for the local PostgreSQL cluster");
        }
    }

    private Task<OsCommand.Result> RunAsServerAsync(string program, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var path = Path.Combine(BinDirectory, program);
        return OsCommand.IsRoot
            ? OsCommand.RunAsync("runuser", ["-u", ServerOsUser, "--", path, .. args], timeout, cancellationToken)
            : OsCommand.RunAsync(path, args, timeout, cancellationToken);
    }

    private async Task RunAsServerCheckedAsync(string program, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var result = await RunAsServerAsync(program, args, CommandTimeout, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0) throw new InvalidOperationException($"{program} failed ({result.ExitCode}): {result.Output.Trim()}");
    }

    private static string QuoteLiteral(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, string a, string? b, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("a", a);
        if (b is not null) command.Parameters.AddWithValue("b", b);
        return (T)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

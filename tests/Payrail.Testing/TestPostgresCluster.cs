using System.Security.Cryptography;
using Npgsql;
using Payrail.Database;
using Payrail.DevEnvironment;

namespace Payrail.Testing;

/// <summary>
/// One throw-away PostgreSQL cluster per test process (fsync off, free port, under
/// <see cref="TestServerDirectory"/>), holding a migrated template database. Every
/// <see cref="PostgresFixture"/> gets its own database copied from that template, which costs
/// tens of milliseconds instead of a cluster start and a migration run.
/// </summary>
public sealed class TestPostgresCluster
{
    public const string AppRole = "payrail";
    private const string TemplateDatabase = "payrail_template";
    private const int MaxPortAttempts = 3;
    private static readonly Lazy<Task<TestPostgresCluster>> Shared = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);
    // One database creation at a time: CREATE DATABASE ... TEMPLATE wants the template to itself, and
    // concurrent ALTER ROLE of the shared role fails with "tuple concurrently updated".
    private readonly SemaphoreSlim _createDatabase = new(1, 1);
    private int _databaseCount;

    private TestPostgresCluster(LocalPostgres server, string appPassword)
    {
        Server = server;
        AppPassword = appPassword;
    }

    public LocalPostgres Server { get; }
    public string AppPassword { get; }

    public static Task<TestPostgresCluster> GetAsync() => Shared.Value;

    /// <summary>Creates a fresh database copied from the migrated template; returns its name.</summary>
    public async Task<string> CreateMigratedDatabaseAsync()
    {
        var name = $"test_{Interlocked.Increment(ref _databaseCount)}_{Guid.NewGuid().ToString("N")[..8]}";
        await _createDatabase.WaitAsync();
        try
        {
            await Server.EnsureDatabaseAsync(name, AppRole, AppPassword, template: TemplateDatabase);
        }
        finally
        {
            _createDatabase.Release();
        }
        return name;
    }

    /// <summary>Creates an empty database owned by the application role; returns its name.</summary>
    public async Task<string> CreateEmptyDatabaseAsync()
    {
        var name = $"empty_{Interlocked.Increment(ref _databaseCount)}_{Guid.NewGuid().ToString("N")[..8]}";
        await _createDatabase.WaitAsync();
        try
        {
            await Server.EnsureDatabaseAsync(name, AppRole, AppPassword);
        }
        finally
        {
            _createDatabase.Release();
        }
        return name;
    }

    public async Task DropDatabaseAsync(string name)
    {
        await using var connection = new NpgsqlConnection(Server.SuperuserConnectionString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    public string AppConnectionString(string database) => Server.ConnectionString(database, AppRole, AppPassword);

    private static async Task<TestPostgresCluster> StartAsync()
    {
        var directory = TestServerDirectory.NewServerDirectory("pg");
        var superuserPassword = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var appPassword = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        for (var attempt = 1; ; attempt++)
        {
            var server = new LocalPostgres(new LocalPostgresOptions
            {
                ClusterDirectory = directory,
                Port = FreePort.Next(),
                SuperuserPassword = superuserPassword,
                Durable = false, // throw-away data: speed over crash safety
                MaxConnections = 400, // one database (and pool) per test class
            });
            try
            {
                await server.StartAsync();
            }
            catch (InvalidOperationException) when (attempt < MaxPortAttempts)
            {
                continue; // the free port was taken between probing and binding
            }
            AppDomain.CurrentDomain.ProcessExit += (_, _) => StopImmediately(server);
            await server.EnsureDatabaseAsync(TemplateDatabase, AppRole, appPassword);
            // No pooling: a pooled idle connection to the template would block every CREATE DATABASE from it.
            var migrate = new NpgsqlConnectionStringBuilder(server.ConnectionString(TemplateDatabase, AppRole, appPassword)) { Pooling = false };
            DatabaseMigrator.Migrate(migrate.ConnectionString);
            return new TestPostgresCluster(server, appPassword);
        }
    }

    private static void StopImmediately(LocalPostgres server)
    {
        var pid = OsCommand.ReadPidFile(Path.Combine(server.DataDirectory, "postmaster.pid"));
        if (OsCommand.ProcessName(pid) is "postgres") OsCommand.Quit(pid);
    }
}

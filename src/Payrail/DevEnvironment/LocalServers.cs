using Npgsql;
using Payrail.Database;
using Payrail.Merchants;

namespace Payrail.DevEnvironment;

/// <summary>
/// The project-local PostgreSQL (`.payrail/pg`, port Postgres:LocalPort = 5433) and Redis
/// (`.payrail/redis`, port Redis:LocalPort = 6380), and how every command finds its database:
/// `Postgres:ConnectionString` / `Redis:Configuration` when set, else these local servers.
/// </summary>
public static class LocalServers
{
    public const string DatabaseName = "payrail";
    public const string DatabaseRole = "payrail";
    public const string PostgresSuperuserSecret = "postgres-superuser-password";
    public const string PostgresPasswordSecret = "postgres-password";
    public const string RedisPasswordSecret = "redis-password";

    public static LocalPostgres Postgres(IConfiguration configuration, DevSecrets secrets) => new(new LocalPostgresOptions
    {
        ClusterDirectory = Path.Combine(PayrailConfiguration.StateDirectory, "pg"),
        Port = configuration.GetValue("Postgres:LocalPort", 5433),
        SuperuserPassword = secrets.GetOrCreate(PostgresSuperuserSecret),
        SharedBuffersMegabytes = configuration.GetValue("Postgres:LocalSharedBuffersMegabytes", 128),
    });

    public static LocalRedis Redis(IConfiguration configuration, DevSecrets secrets) => new(new LocalRedisOptions
    {
        Directory = Path.Combine(PayrailConfiguration.StateDirectory, "redis"),
        Port = configuration.GetValue("Redis:LocalPort", 6380),
        Password = secrets.GetOrCreate(RedisPasswordSecret),
    });

    public static bool IsPostgresConfigured(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration["Postgres:ConnectionString"]);
    public static bool IsRedisConfigured(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration["Redis:Configuration"]);

    /// <summary>`Postgres:ConnectionString`, or the local cluster's `payrail` database (started by `payrail up`).</summary>
    public static string PostgresConnectionString(IConfiguration configuration)
    {
        if (IsPostgresConfigured(configuration)) return configuration["Postgres:ConnectionString"]!;
        var secrets = DevSecrets.ForProject();
        var password = secrets.TryRead(PostgresPasswordSecret)
            ?? throw new InvalidOperationException("Postgres:ConnectionString is not set and the local cluster was never created: run `./payrail up` first");
        return Postgres(configuration, secrets).ConnectionString(DatabaseName, DatabaseRole, password);
    }

    /// <summary>Starts the local cluster, ensures the `payrail` role and database, migrates and seeds `m_demo`. Returns the app's connection string.</summary>
    public static async Task<string> StartPostgresAsync(LocalPostgres postgres, DevSecrets secrets, TextWriter log, CancellationToken cancellationToken)
    {
        await postgres.StartAsync(cancellationToken).ConfigureAwait(false);
        var password = secrets.GetOrCreate(PostgresPasswordSecret);
        await postgres.EnsureDatabaseAsync(DatabaseName, DatabaseRole, password, cancellationToken: cancellationToken).ConfigureAwait(false);
        var connectionString = postgres.ConnectionString(DatabaseName, DatabaseRole, password);
        await MigrateAndSeedAsync(connectionString, log, cancellationToken).ConfigureAwait(false);
        return connectionString;
    }

    public static async Task MigrateAndSeedAsync(string connectionString, TextWriter log, CancellationToken cancellationToken)
    {
        var outcome = DatabaseMigrator.Migrate(connectionString);
        foreach (var script in outcome.Applied) log.WriteLine($"migrated   {script}");
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await MerchantDirectory.CreateAsync(connection, MerchantDirectory.DemoMerchantId, MerchantDirectory.DemoMerchantName, cancellationToken).ConfigureAwait(false);
    }
}

using DbUp;
using DbUp.Engine.Output;
using Npgsql;

namespace Payrail.Database;

/// <summary>
/// Applies the numbered SQL files embedded from Database/Migrations (0001_..., 0002_...) in name order,
/// each in its own transaction, recording them in `public.schema_migrations`. Idempotent.
/// </summary>
public static class DatabaseMigrator
{
    public sealed record Outcome(IReadOnlyList<string> Applied);

    private const string ResourcePrefix = "Payrail.Database.Migrations.";

    /// <summary>Names of every migration this build carries, in the order they apply.</summary>
    public static IReadOnlyList<string> Scripts { get; } =
        typeof(DatabaseMigrator).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToArray();

    public static Outcome Migrate(string connectionString, TextWriter? log = null)
    {
        // `payrail up` and `payrail migrate` (or two hosts) may migrate at once; DbUp does not lock, so a
        // session-level advisory lock held on a side connection serializes whole runs.
        using var guard = new NpgsqlConnection(connectionString);
        guard.Open();
        using (var lockCommand = new NpgsqlCommand("SET lock_timeout = '60s'; SELECT pg_advisory_lock(@key)", guard))
        {
            lockCommand.Parameters.AddWithValue("key", MigrationLockKey);
            lockCommand.ExecuteNonQuery();
        }
        try
        {
            return MigrateLocked(connectionString, log);
        }
        finally
        {
            using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", guard);
            unlock.Parameters.AddWithValue("key", MigrationLockKey);
            unlock.ExecuteNonQuery();
        }
    }

    /// <summary>Arbitrary constant naming Payrail's migration lock among the database's advisory locks.</summary>
    private const long MigrationLockKey = 0x5041_5952_4149_4C31; // "PAYRAIL1"

    private static Outcome MigrateLocked(string connectionString, TextWriter? log)
    {
        var engine = DeployChanges.To
            .PostgresqlDatabase(connectionString)
            .WithScriptsEmbeddedInAssembly(typeof(DatabaseMigrator).Assembly, n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .JournalToPostgresqlTable("public", "schema_migrations")
            .WithTransactionPerScript()
            // PL/pgSQL bodies use $...$ quoting, which DbUp's $variable$ substitution would otherwise rewrite.
            .WithVariablesDisabled()
            .LogTo(log is null ? new NoOpUpgradeLog() : new WriterLog(log))
            .Build();
        var result = engine.PerformUpgrade();
        if (!result.Successful)
            throw new InvalidOperationException($"migration {result.ErrorScript?.Name ?? "?"} failed: {result.Error?.Message}", result.Error);
        return new Outcome(result.Scripts.Select(s => s.Name).ToArray());
    }

    private sealed class WriterLog(TextWriter writer) : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) { }
        public void LogDebug(string format, params object[] args) { }
        public void LogInformation(string format, params object[] args) => writer.WriteLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
        public void LogWarning(string format, params object[] args) => writer.WriteLine("warning: " + string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
        public void LogError(string format, params object[] args) => writer.WriteLine("error: " + string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
        public void LogError(Exception ex, string format, params object[] args) => LogError(format, args);
    }
}

using ConsoleAppFramework;
using Npgsql;
using Payrail.Database;
using Payrail.DevEnvironment;
using Payrail.Ledger;
using Payrail.Merchants;

namespace Payrail.Cli;

/// <summary>The `payrail` commands. Each one delegates to its feature folder.</summary>
internal sealed class PlatformCommands
{
    /// <summary>Start the whole platform locally and serve until Ctrl-C.</summary>
    [Command("up")]
    public async Task<int> Up(CancellationToken cancellationToken) =>
        await LocalPlatform.RunAsync(PayrailConfiguration.Load(), cancellationToken);

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
}

using Npgsql;
using Payrail.Database;

namespace Payrail.Bench;

/// <summary>A bench's own database on the platform's PostgreSQL, never the platform's: dropped first if an earlier run
/// left it, created, migrated.</summary>
internal static class ScratchDatabase
{
    /// <summary>Creates <paramref name="name"/> afresh and returns its connection string; with <paramref name="merchantId"/>,
    /// that merchant exists in it.</summary>
    public static async Task<string> CreateAsync(string adminConnectionString, string name, string? merchantId, CancellationToken cancellationToken)
    {
        await using (var admin = new NpgsqlConnection(adminConnectionString))
        {
            await admin.OpenAsync(cancellationToken);
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync(cancellationToken);
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
        var connectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name }.ConnectionString;
        DatabaseMigrator.Migrate(connectionString);
        if (merchantId is null) return connectionString;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var merchant = new NpgsqlCommand("INSERT INTO merchants (id, name) VALUES (@id, 'Bench Merchant')", connection);
        merchant.Parameters.AddWithValue("id", merchantId);
        await merchant.ExecuteNonQueryAsync(cancellationToken);
        return connectionString;
    }
}

using Dapper;
using Npgsql;
using Payrail.Database;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Database;

public sealed class MigrationTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task Migrations_apply_on_an_empty_database_then_apply_nothing_the_second_time()
    {
        var connectionString = await postgres.CreateEmptyDatabaseAsync();

        var first = DatabaseMigrator.Migrate(connectionString);
        var second = DatabaseMigrator.Migrate(connectionString);

        Assert.Equal(DatabaseMigrator.Scripts, first.Applied);
        Assert.NotEmpty(first.Applied);
        Assert.Empty(second.Applied);
        await using var connection = new NpgsqlConnection(connectionString);
        var tables = (await connection.QueryAsync<string>(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name")).ToArray();
        Assert.Equal(["analytics_daily", "consumer_inbox", "dashboard_payments", "dashboard_streams", "dashboard_updates",
            "fraud_observations", "fraud_reviews", "idempotency_keys", "ledger_account_balances", "ledger_account_totals", "ledger_accounts",
            "ledger_transfers", "loyalty_entries", "merchants", "notifications", "outbox", "payment_operations", "payment_settlements",
            "payment_transitions", "payments", "psp_event_cursors", "psp_webhook_events", "reconciliation_alerts",
            "reconciliation_items", "reconciliation_replays", "reconciliation_runs", "refunds", "schema_migrations", "settlement_lines",
            "settlement_runs"], tables);
    }

    [Fact]
    public void Migrations_are_numbered_so_they_apply_in_file_order()
    {
        var numbers = DatabaseMigrator.Scripts.Select(s => s["Payrail.Database.Migrations.".Length..][..4]).ToArray();
        Assert.All(numbers, n => Assert.True(int.TryParse(n, out _), n));
        Assert.Equal(numbers.Distinct().Count(), numbers.Length);
    }
}

using Npgsql;
using Xunit;

namespace Payrail.Testing;

/// <summary>
/// A fresh, fully migrated database of its own in the test run's private PostgreSQL cluster (never
/// the platform's `.payrail/pg`). Use as an xunit class fixture: every test class gets its own
/// database; a test that needs a database nobody else touches calls <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private readonly List<string> _databases = [];
    private TestPostgresCluster? _cluster;

    /// <summary>Connection string of this fixture's database as the application role `payrail` (owner, not superuser).</summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>Same database as the cluster superuser: for tests that tamper (e.g. `SET session_replication_role = replica`).</summary>
    public string SuperuserConnectionString { get; private set; } = "";

    public string DatabaseName { get; private set; } = "";

    private TestPostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("PostgresFixture is not initialized");

    public async Task InitializeAsync()
    {
        _cluster = await TestPostgresCluster.GetAsync();
        DatabaseName = await NewDatabaseAsync();
        ConnectionString = Cluster.AppConnectionString(DatabaseName);
        SuperuserConnectionString = Cluster.Server.SuperuserConnectionString(DatabaseName);
    }

    /// <summary>Another fresh, migrated database (dropped with this fixture); returns its application connection string.</summary>
    public async Task<string> CreateDatabaseAsync() => Cluster.AppConnectionString(await NewDatabaseAsync());

    /// <summary>A fresh database with no tables at all (to test the migrations themselves); returns its application connection string.</summary>
    public async Task<string> CreateEmptyDatabaseAsync()
    {
        var name = await Cluster.CreateEmptyDatabaseAsync();
        lock (_databases) _databases.Add(name);
        return Cluster.AppConnectionString(name);
    }

    /// <summary>Superuser connection string of a database made by <see cref="CreateDatabaseAsync"/>.</summary>
    public string SuperuserConnectionStringFor(string appConnectionString) =>
        Cluster.Server.SuperuserConnectionString(new NpgsqlConnectionStringBuilder(appConnectionString).Database!);

    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async Task DisposeAsync()
    {
        if (_cluster is null) return;
        foreach (var database in _databases)
        {
            // Only this fixture's pools: other test classes keep theirs.
            NpgsqlConnection.ClearPool(new NpgsqlConnection(_cluster.AppConnectionString(database)));
            NpgsqlConnection.ClearPool(new NpgsqlConnection(_cluster.Server.SuperuserConnectionString(database)));
            await _cluster.DropDatabaseAsync(database);
        }
    }

    private async Task<string> NewDatabaseAsync()
    {
        var name = await Cluster.CreateMigratedDatabaseAsync();
        lock (_databases) _databases.Add(name);
        return name;
    }
}

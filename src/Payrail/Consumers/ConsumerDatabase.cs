using Npgsql;
using Payrail.Hosting;

namespace Payrail.Consumers;

/// <summary>
/// The consumer loops' own connection pool. A loop's transaction changes no session state (inbox rows, effects, and for
/// the dashboard a NOTIFY that PostgreSQL sends at commit: no SET, LISTEN, advisory lock or temporary object), so a
/// connection needs no reset when it returns. The worker's shared pool resets every return (DISCARD ALL, sent with the
/// next borrower's first statement), and each loop borrows once per batch: six resets per relay round, and no statement
/// could stay prepared. Here the few statements every batch runs are parsed and planned once per connection.
/// Measured with `payrail bench worker` (README "The worker's CPU per event").
/// </summary>
public sealed class ConsumerDatabase(NpgsqlDataSource source) : IAsyncDisposable
{
    /// <summary>Statements kept prepared per connection: the inbox claim and each handler's few statements fit many times.</summary>
    public const int MaxAutoPrepare = 64;

    public NpgsqlDataSource Source { get; } = source;

    public static ConsumerDatabase Create(string connectionString, PostgresPoolOptions pool)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var settings = builder.ConnectionStringBuilder;
        settings.MaxPoolSize = pool.MaxPoolSize;
        settings.MinPoolSize = pool.MinPoolSize;
        if (string.IsNullOrEmpty(settings.ApplicationName)) settings.ApplicationName = "payrail-consumers";
        if (settings.MaxAutoPrepare == 0) settings.MaxAutoPrepare = MaxAutoPrepare;
        settings.NoResetOnClose = true;
        return new ConsumerDatabase(builder.Build());
    }

    public ValueTask DisposeAsync() => Source.DisposeAsync();
}

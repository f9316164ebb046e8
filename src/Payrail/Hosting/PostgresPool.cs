using Npgsql;

namespace Payrail.Hosting;

/// <summary>
/// Each role's own <see cref="NpgsqlDataSource"/>, built from <see cref="PostgresOptions"/>. The application name tells
/// the roles apart in pg_stat_activity.
/// </summary>
public static class PostgresPool
{
    /// <summary>
    /// The payment service's pool: statements prepared automatically, and no reset when a connection returns to the
    /// pool. The API never changes session state (no SET, LISTEN, advisory or temp objects), so a pooled connection
    /// needs no reset: this spares PostgreSQL seven reset statements every time a connection is taken from the pool.
    /// </summary>
    public static NpgsqlDataSource ForApi(string connectionString, PostgresPoolOptions pool)
    {
        var source = new NpgsqlDataSourceBuilder(connectionString);
        Apply(source.ConnectionStringBuilder, pool, "payrail-api");
        // The payment flow runs the same few statements all day: prepared once per connection, parsed and planned once.
        if (source.ConnectionStringBuilder.MaxAutoPrepare == 0) source.ConnectionStringBuilder.MaxAutoPrepare = 32;
        source.ConnectionStringBuilder.NoResetOnClose = true;
        return source.Build();
    }

    /// <summary>
    /// The worker's pool: every connection is reset when it returns (DISCARD ALL), because its loops will LISTEN and
    /// take advisory locks, and a lock or a subscription leaking into the next borrower would be a silent bug.
    /// </summary>
    public static NpgsqlDataSource ForWorker(string connectionString, PostgresPoolOptions pool)
    {
        var source = new NpgsqlDataSourceBuilder(connectionString);
        Apply(source.ConnectionStringBuilder, pool, "payrail-worker");
        source.ConnectionStringBuilder.NoResetOnClose = false;
        return source.Build();
    }

    /// <summary>
    /// The dashboard's pool: reset on return like the worker's, because its stream signals LISTEN on one connection.
    /// </summary>
    public static NpgsqlDataSource ForDashboard(string connectionString, PostgresPoolOptions pool)
    {
        var source = new NpgsqlDataSourceBuilder(connectionString);
        Apply(source.ConnectionStringBuilder, pool, "payrail-dashboard");
        source.ConnectionStringBuilder.NoResetOnClose = false;
        // The LISTEN connection idles for hours: a server that vanished without closing is noticed by keepalive.
        if (source.ConnectionStringBuilder.KeepAlive == 0) source.ConnectionStringBuilder.KeepAlive = 5;
        return source.Build();
    }

    /// <summary>
    /// Unpooled connections, each one PostgreSQL session from open to close: for a loop whose session state is its
    /// meaning (the outbox relay's advisory locks). Closing ends the session at once, so its locks go with it; a pooled
    /// connection would keep them while it idles in the pool (Npgsql sends its reset with the next borrower's query).
    /// </summary>
    public static NpgsqlDataSource ForSessions(string connectionString, string applicationName)
    {
        var source = new NpgsqlDataSourceBuilder(connectionString);
        source.ConnectionStringBuilder.Pooling = false;
        // Client-side keepalive: a server that vanished without closing is noticed, not waited on forever.
        if (source.ConnectionStringBuilder.KeepAlive == 0) source.ConnectionStringBuilder.KeepAlive = 5;
        if (string.IsNullOrEmpty(source.ConnectionStringBuilder.ApplicationName)) source.ConnectionStringBuilder.ApplicationName = applicationName;
        return source.Build();
    }

    private static void Apply(NpgsqlConnectionStringBuilder builder, PostgresPoolOptions pool, string applicationName)
    {
        builder.MaxPoolSize = pool.MaxPoolSize;
        builder.MinPoolSize = pool.MinPoolSize;
        if (string.IsNullOrEmpty(builder.ApplicationName)) builder.ApplicationName = applicationName;
    }
}

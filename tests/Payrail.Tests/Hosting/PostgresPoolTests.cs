using Npgsql;
using Payrail.Hosting;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Hosting;

/// <summary>
/// Each role has its own pool. The API's skips the session reset (it never changes session state); the worker's resets
/// every connection it gets back, because its loops will LISTEN and take advisory locks that must not leak into the
/// next borrower.
/// </summary>
public sealed class PostgresPoolTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly PostgresPoolOptions OneConnection = new() { MaxPoolSize = 1 };

    [Fact]
    public async Task The_worker_pool_resets_session_state_before_the_next_borrower()
    {
        await using var pool = PostgresPool.ForWorker(postgres.ConnectionString, OneConnection);

        Assert.Equal("", await LeakedSettingAsync(pool));
    }

    [Fact]
    public async Task The_api_pool_skips_the_reset_and_keeps_its_prepared_statements()
    {
        await using var pool = PostgresPool.ForApi(postgres.ConnectionString, OneConnection);

        Assert.Equal("leaked", await LeakedSettingAsync(pool));
    }

    [Fact]
    public void Each_role_pool_takes_its_own_size_and_names_its_role()
    {
        var api = new NpgsqlConnectionStringBuilder(PostgresPool.ForApi(postgres.ConnectionString, new() { MaxPoolSize = 40 }).ConnectionString);
        var worker = new NpgsqlConnectionStringBuilder(PostgresPool.ForWorker(postgres.ConnectionString, new() { MaxPoolSize = 7, MinPoolSize = 1 }).ConnectionString);

        Assert.Equal((40, "payrail-api"), (api.MaxPoolSize, api.ApplicationName));
        Assert.Equal((7, 1, "payrail-worker"), (worker.MaxPoolSize, worker.MinPoolSize, worker.ApplicationName));
    }

    /// <summary>Sets a session setting on the pool's one connection, returns it, and reads the setting on the next borrow.</summary>
    private static async Task<string> LeakedSettingAsync(NpgsqlDataSource pool)
    {
        await using (var first = await pool.OpenConnectionAsync())
        await using (var set = new NpgsqlCommand("SELECT set_config('payrail.test_flag', 'leaked', false)", first))
            await set.ExecuteScalarAsync();
        await using var second = await pool.OpenConnectionAsync();
        await using var read = new NpgsqlCommand("SELECT coalesce(current_setting('payrail.test_flag', true), '')", second);
        return (string)(await read.ExecuteScalarAsync())!;
    }
}

using Npgsql;
using Payrail.DevEnvironment;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Infrastructure;

public sealed class LocalPostgresTests
{
    [Fact]
    public async Task Starting_a_running_cluster_again_reuses_it()
    {
        var cluster = await TestPostgresCluster.GetAsync();
        var pidFile = Path.Combine(cluster.Server.DataDirectory, "postmaster.pid");
        var pid = OsCommand.ReadPidFile(pidFile);

        await cluster.Server.StartAsync();

        Assert.True(await cluster.Server.IsRunningAsync());
        Assert.Equal(pid, OsCommand.ReadPidFile(pidFile));
    }

    [Fact]
    public async Task Cluster_listens_on_loopback_only_and_requires_a_password()
    {
        var cluster = await TestPostgresCluster.GetAsync();
        var noPassword = new NpgsqlConnectionStringBuilder(cluster.Server.SuperuserConnectionString()) { Password = "wrong", Pooling = false };

        await using (var connection = new NpgsqlConnection(cluster.Server.SuperuserConnectionString()))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SHOW listen_addresses", connection);
            Assert.Equal("127.0.0.1", await command.ExecuteScalarAsync());
        }
        var refused = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var connection = new NpgsqlConnection(noPassword.ConnectionString);
            await connection.OpenAsync();
        });
        Assert.Equal(PostgresErrorCodes.InvalidPassword, refused.SqlState);
    }
}

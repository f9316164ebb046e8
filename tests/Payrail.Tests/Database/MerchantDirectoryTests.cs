using Dapper;
using Payrail.Merchants;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Database;

public sealed class MerchantDirectoryTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task Creating_a_merchant_twice_with_the_same_name_is_idempotent()
    {
        await using var connection = await postgres.OpenAsync();

        var first = await MerchantDirectory.CreateAsync(connection, "m_twice", "Twice Ltd");
        var second = await MerchantDirectory.CreateAsync(connection, "m_twice", "Twice Ltd");

        Assert.Equal(MerchantCreation.Created, first);
        Assert.Equal(MerchantCreation.AlreadyExists, second);
        Assert.Equal(1, await connection.QuerySingleAsync<int>("SELECT count(*)::int FROM merchants WHERE id = 'm_twice'"));
    }

    [Fact]
    public async Task Another_name_under_an_existing_id_is_a_conflict_and_changes_nothing()
    {
        await using var connection = await postgres.OpenAsync();
        await MerchantDirectory.CreateAsync(connection, "m_named", "First Name");

        var outcome = await MerchantDirectory.CreateAsync(connection, "m_named", "Second Name");

        Assert.Equal(MerchantCreation.ConflictingName, outcome);
        Assert.Equal("First Name", await connection.QuerySingleAsync<string>("SELECT name FROM merchants WHERE id = 'm_named'"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("m demo")]
    [InlineData("m_'; DROP TABLE merchants; --")]
    public async Task Malformed_merchant_id_is_refused(string id)
    {
        await using var connection = await postgres.OpenAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => MerchantDirectory.CreateAsync(connection, id, "Name"));
    }
}

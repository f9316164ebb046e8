using System.Text.RegularExpressions;
using Dapper;
using Npgsql;

namespace Payrail.Merchants;

public enum MerchantCreation { Created, AlreadyExists, ConflictingName }

/// <summary>Registers merchants (`payrail merchant create`, the `m_demo` seed of `payrail up`).</summary>
public static partial class MerchantDirectory
{
    public const string DemoMerchantId = "m_demo";
    public const string DemoMerchantName = "Demo Merchant";

    /// <summary>Same rule as the merchants.id CHECK constraint.</summary>
    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    public static partial Regex ValidId();

    /// <summary>Idempotent on the same id and name; a different name under an existing id is a conflict and changes nothing.</summary>
    public static async Task<MerchantCreation> CreateAsync(NpgsqlConnection connection, string id, string name, CancellationToken cancellationToken = default)
    {
        if (!ValidId().IsMatch(id)) throw new ArgumentException("merchant id must be 1-64 characters of [A-Za-z0-9_-]", nameof(id));
        if (name.Length is 0 or > 200) throw new ArgumentException("merchant name must be 1-200 characters", nameof(name));
        var inserted = await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO merchants (id, name) VALUES (@id, @name) ON CONFLICT (id) DO NOTHING",
            new { id, name }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (inserted == 1) return MerchantCreation.Created;
        var existing = await connection.QuerySingleAsync<string>(new CommandDefinition(
            "SELECT name FROM merchants WHERE id = @id", new { id }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return existing == name ? MerchantCreation.AlreadyExists : MerchantCreation.ConflictingName;
    }
}

using System.Collections.Concurrent;
using Npgsql;

namespace Payrail.Merchants;

/// <summary>
/// Which merchants exist. Merchants are never deleted, so a merchant seen once is remembered
/// (bounded) and the hot path of a payment pays no extra round trip; unknown ids are always re-checked.
/// </summary>
public sealed class KnownMerchants(NpgsqlDataSource database)
{
    private const int MaxRemembered = 10_000;
    private readonly ConcurrentDictionary<string, bool> _known = new(StringComparer.Ordinal);

    public async Task<bool> ExistsAsync(string merchantId)
    {
        if (_known.ContainsKey(merchantId)) return true;
        await using var command = database.CreateCommand("SELECT EXISTS (SELECT 1 FROM merchants WHERE id = @id)");
        command.Parameters.AddWithValue("id", merchantId);
        var exists = (bool)(await command.ExecuteScalarAsync().ConfigureAwait(false))!;
        if (exists) Remember(merchantId);
        return exists;
    }

    /// <summary>Registers a merchant (idempotent for the same id and name) and remembers it.</summary>
    public async Task<MerchantCreation> CreateAsync(string id, string name)
    {
        await using var connection = await database.OpenConnectionAsync().ConfigureAwait(false);
        var created = await MerchantDirectory.CreateAsync(connection, id, name).ConfigureAwait(false);
        if (created != MerchantCreation.ConflictingName) Remember(id);
        return created;
    }

    public void Remember(string merchantId)
    {
        if (_known.Count < MaxRemembered) _known.TryAdd(merchantId, true);
    }
}

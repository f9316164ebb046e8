using Npgsql;

namespace Payrail.Reconciliation;

/// <summary>
/// Payrail's side of a generated window (the benchmark's and the scale test's): <c>count</c> captured payments whose PSP
/// references are those of pspsim's bulk generator (<c>pi_{tag}_{i}</c>, i zero-padded to 7 digits), each captured at
/// <c>at</c>, written by two set-based statements (generate_series), not one round trip per payment.
/// </summary>
public static class ReconciliationSeed
{
    public static async Task<long> CapturedPaymentsAsync(NpgsqlConnection connection, string psp, string merchantId, string tag, int count,
        DateTimeOffset at, long amountMinor, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            WITH created AS (
                INSERT INTO payments (id, merchant_id, buyer_id, amount_minor, currency, status, psp, psp_reference, amount_captured_minor,
                                      version, created_at, updated_at)
                SELECT gen_random_uuid(), @merchant, 'b_seed', @amount, 'USD', 'captured', @psp, 'pi_' || @tag || '_' || lpad(i::text, 7, '0'),
                       @amount, 3, @at, @at
                FROM generate_series(0, @count - 1) AS i
                RETURNING id
            )
            INSERT INTO payment_transitions (payment_id, from_status, to_status, cause, at)
            SELECT id, 'authorized', 'captured', 'seed', @at FROM created
            """, connection) { CommandTimeout = 600 };
        var p = command.Parameters;
        p.AddWithValue("merchant", merchantId);
        p.AddWithValue("amount", amountMinor);
        p.AddWithValue("psp", psp);
        p.AddWithValue("tag", tag);
        p.AddWithValue("count", count);
        p.AddWithValue("at", at);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

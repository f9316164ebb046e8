using Npgsql;
using Payrail.Domain.Ledger;

namespace Payrail.Refunds;

/// <summary>
/// Whether a merchant's payable balance can take a refund before the PSP is asked for it. A refund posts merchant → buyer
/// only once the PSP says it succeeded; for a merchant whose payable may not go negative (its merchant account carries
/// debits_must_not_exceed_credits, migration 0019) that posting is refused by the ledger (PR004) after the PSP already
/// refunded — the request answered 500, the buyer had the money and the books did not. This check refuses such a refund
/// first, counting what pending refunds of the merchant in that currency already hold.
/// </summary>
/// <remarks>
/// It reads outside the reservation's batch: two refunds of one merchant on two payments racing for the last of its
/// payable can both pass, and the later success then still meets the ledger's flag. Closing that needs the reservation to
/// hold the amount in the ledger itself (a pending transfer merchant → buyer), which the refund postings do not do yet.
/// </remarks>
public sealed class PayableBalanceCheck(NpgsqlDataSource database)
{
    /// <summary>Refusal code of a refund above the merchant's payable balance.</summary>
    public const string ExceedsPayableCode = "exceeds_payable";

    /// <summary>True when the merchant's account in this currency is flagged and cannot take <paramref name="amountMinor"/> more.</summary>
    public async Task<bool> RefusesAsync(string merchantId, string currencyCode, long amountMinor)
    {
        await using var command = database.CreateCommand("""
            SELECT t.credits_posted - t.debits_posted - t.debits_pending - coalesce((
                       SELECT sum(r.amount_minor) FROM refunds r
                       WHERE r.status = 'pending' AND r.merchant_id = @merchant AND r.currency = @currency), 0)::bigint
            FROM ledger_account_totals t
            WHERE t.owner = @owner AND t.currency = @currency AND t.flags & 1 <> 0
            """);
        command.Parameters.AddWithValue("owner", LedgerAccountOwner.Merchant(merchantId));
        command.Parameters.AddWithValue("merchant", merchantId);
        command.Parameters.AddWithValue("currency", currencyCode);
        // No row: the merchant may go negative (no flag), or has no account in this currency (nothing captured to refund).
        return await command.ExecuteScalarAsync().ConfigureAwait(false) is long headroomMinor && headroomMinor < amountMinor;
    }
}

using Dapper;
using Npgsql;

namespace Payrail.Tests.Database;

/// <summary>Creates ledger accounts and inserts transfers with plain SQL, as the payment service will.</summary>
internal static class LedgerTestBooks
{
    public const int DebitsMustNotExceedCredits = 1;
    public const int CreditsMustNotExceedDebits = 2;

    public sealed record Balances(long DebitsPending, long DebitsPosted, long CreditsPending, long CreditsPosted);

    public static Task<long> AccountAsync(NpgsqlConnection connection, string owner, string currency = "EUR", int flags = 0) =>
        connection.QuerySingleAsync<long>(
            "INSERT INTO ledger_accounts (owner, currency, flags) VALUES (@owner, @currency, @flags) RETURNING id",
            new { owner = $"{owner}:{Guid.NewGuid():N}", currency, flags });

    public static async Task<Guid> TransferAsync(NpgsqlConnection connection, long debit, long credit, long amountMinor,
        string kind = "posted", string currency = "EUR", Guid? pendingId = null, Guid? id = null, Guid? paymentId = null,
        Guid? journalEntryId = null, string onConflict = "ON CONFLICT (id) DO NOTHING")
    {
        var transferId = id ?? Guid.NewGuid();
        // The journal entry defaults to the transfer's own id, as on the payment path (a one-transfer entry named by
        // its deterministic id), so that re-posting the same transfer repeats every field.
        await connection.ExecuteAsync(
            $"""
            INSERT INTO ledger_transfers (id, journal_entry_id, debit_account_id, credit_account_id, amount_minor, currency, kind, pending_id, payment_id)
            VALUES (@transferId, @journal, @debit, @credit, @amountMinor, @currency, @kind, @pendingId, @paymentId)
            {onConflict}
            """,
            new { transferId, journal = journalEntryId ?? transferId, debit, credit, amountMinor, currency, kind, pendingId, paymentId });
        return transferId;
    }

    public static Task<Balances> BalancesAsync(NpgsqlConnection connection, long account) =>
        connection.QuerySingleAsync<Balances>(
            "SELECT debits_pending AS DebitsPending, debits_posted AS DebitsPosted, credits_pending AS CreditsPending, credits_posted AS CreditsPosted FROM ledger_account_totals WHERE id = @account",
            new { account });

    public static Task<long> TransferCountAsync(NpgsqlConnection connection) =>
        connection.QuerySingleAsync<long>("SELECT count(*) FROM ledger_transfers");
}

using Dapper;
using Npgsql;

namespace Payrail.Ledger;

/// <summary>One broken ledger invariant: which rule, on what (account owner/id, transfer), expected vs actual.</summary>
public sealed record LedgerViolation(string Invariant, string Subject, string Expected, string Actual);

/// <summary>
/// `payrail ledger verify`: recomputes the ledger's invariants (DESIGN.md, Ledger) from the transfers
/// alone and reports every row that disagrees. An empty result means the books are consistent.
/// </summary>
public static class LedgerVerification
{
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromMinutes(5);

    public static async Task<IReadOnlyList<LedgerViolation>> VerifyAsync(NpgsqlConnection connection, CancellationToken cancellationToken = default)
    {
        var violations = new List<LedgerViolation>();
        if (connection.State != System.Data.ConnectionState.Open) await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        // One snapshot for every check: concurrent postings must not make consistent books look broken.
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        foreach (var sql in Checks)
        {
            var rows = await connection.QueryAsync<LedgerViolation>(new CommandDefinition(sql, transaction: transaction,
                commandTimeout: (int)CheckTimeout.TotalSeconds, cancellationToken: cancellationToken)).ConfigureAwait(false);
            violations.AddRange(rows);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return violations;
    }

    private static readonly string[] Checks =
    [
        // Every journal entry balances per currency: each leg is one debit and one credit of the same
        // amount, so an entry balances exactly when every leg's accounts hold the leg's currency.
        """
        SELECT 'journal_entry_balances_per_currency' AS invariant,
               format('journal entry %s, transfer %s', t.journal_entry_id, t.id) AS subject,
               format('two different accounts in %s', t.currency) AS expected,
               format('debit account %s (%s) in %s, credit account %s (%s) in %s', d.id, d.owner, d.currency, c.id, c.owner, c.currency) AS actual
        FROM ledger_transfers t
        JOIN ledger_accounts d ON d.id = t.debit_account_id
        JOIN ledger_accounts c ON c.id = t.credit_account_id
        WHERE d.currency <> t.currency OR c.currency <> t.currency OR d.id = c.id
        ORDER BY t.created_at, t.id
        """,
        // Amounts are positive integers in minor units.
        """
        SELECT 'amounts_positive' AS invariant, format('transfer %s', id) AS subject,
               'amount_minor > 0' AS expected, format('amount_minor = %s', amount_minor) AS actual
        FROM ledger_transfers WHERE amount_minor <= 0
        """,
        // Pending transfers are posted or voided at most once, by a transfer that respects the pending amount.
        """
        SELECT 'pending_resolved_at_most_once' AS invariant, format('pending transfer %s', pending_id) AS subject,
               'at most 1 post/void' AS expected, format('%s posts/voids', count(*)) AS actual
        FROM ledger_transfers WHERE pending_id IS NOT NULL
        GROUP BY pending_id HAVING count(*) > 1
        """,
        """
        SELECT 'pending_resolution_valid' AS invariant, format('transfer %s (%s of %s)', t.id, t.kind, t.pending_id) AS subject,
               CASE WHEN t.kind = 'post_pending' THEN format('a pending transfer of the same accounts holding >= %s', t.amount_minor)
                    ELSE format('a pending transfer of the same accounts holding exactly %s', t.amount_minor) END AS expected,
               coalesce(format('%s transfer of %s from account %s to %s', p.kind, p.amount_minor, p.debit_account_id, p.credit_account_id), 'no such transfer') AS actual
        FROM ledger_transfers t LEFT JOIN ledger_transfers p ON p.id = t.pending_id
        WHERE t.kind IN ('post_pending', 'void_pending')
          AND (p.id IS NULL OR p.kind <> 'pending'
               OR p.debit_account_id <> t.debit_account_id OR p.credit_account_id <> t.credit_account_id
               OR (t.kind = 'post_pending' AND t.amount_minor > p.amount_minor)
               OR (t.kind = 'void_pending' AND t.amount_minor <> p.amount_minor))
        """,
        // Every account's four columns (summed over its stripes) equal the sums recomputed from its transfers (TigerBeetle's rules:
        // a post or void releases the whole pending amount; a post adds its own amount to posted).
        """
        WITH legs AS (
            SELECT t.debit_account_id AS account_id, true AS is_debit, t.kind, t.amount_minor, p.amount_minor AS pending_amount
            FROM ledger_transfers t LEFT JOIN ledger_transfers p ON p.id = t.pending_id
            UNION ALL
            SELECT t.credit_account_id, false, t.kind, t.amount_minor, p.amount_minor
            FROM ledger_transfers t LEFT JOIN ledger_transfers p ON p.id = t.pending_id
        ), effects AS (
            SELECT account_id, is_debit,
                   CASE WHEN kind IN ('posted', 'post_pending') THEN amount_minor ELSE 0 END AS posted,
                   CASE kind WHEN 'pending' THEN amount_minor WHEN 'posted' THEN 0 ELSE -coalesce(pending_amount, 0) END AS pending
            FROM legs
        ), recomputed AS (
            SELECT a.id, a.owner, a.currency, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
                   coalesce(sum(e.pending) FILTER (WHERE e.is_debit), 0) AS expected_debits_pending,
                   coalesce(sum(e.posted) FILTER (WHERE e.is_debit), 0) AS expected_debits_posted,
                   coalesce(sum(e.pending) FILTER (WHERE NOT e.is_debit), 0) AS expected_credits_pending,
                   coalesce(sum(e.posted) FILTER (WHERE NOT e.is_debit), 0) AS expected_credits_posted
            FROM ledger_account_totals a LEFT JOIN effects e ON e.account_id = a.id
            GROUP BY a.id, a.owner, a.currency, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted
        )
        SELECT 'account_equals_its_transfers' AS invariant,
               format('account %s (%s, %s)', id, owner, currency) AS subject,
               format('debits_pending=%s debits_posted=%s credits_pending=%s credits_posted=%s',
                      expected_debits_pending, expected_debits_posted, expected_credits_pending, expected_credits_posted) AS expected,
               format('debits_pending=%s debits_posted=%s credits_pending=%s credits_posted=%s',
                      debits_pending, debits_posted, credits_pending, credits_posted) AS actual
        FROM recomputed
        WHERE (debits_pending, debits_posted, credits_pending, credits_posted)
              IS DISTINCT FROM (expected_debits_pending, expected_debits_posted, expected_credits_pending, expected_credits_posted)
        ORDER BY id
        """,
        // Total debits = total credits per currency, posted and pending.
        """
        SELECT 'total_debits_equal_total_credits' AS invariant, format('currency %s', currency) AS subject,
               format('debits_posted=credits_posted, debits_pending=credits_pending') AS expected,
               format('debits_posted=%s credits_posted=%s debits_pending=%s credits_pending=%s',
                      sum(debits_posted), sum(credits_posted), sum(debits_pending), sum(credits_pending)) AS actual
        FROM ledger_account_totals GROUP BY currency
        HAVING sum(debits_posted) <> sum(credits_posted) OR sum(debits_pending) <> sum(credits_pending)
        ORDER BY currency
        """,
        // Balance limits set by the account flags hold. Fees charged to a merchant are facts the flags do not refuse
        // (Payrail.Domain LedgerAccounts.IsFeeCharge, migration 0022): they do not count against debits_must_not_exceed_credits.
        """
        WITH fees AS (
            SELECT t.debit_account_id AS id, sum(t.amount_minor) AS fee_debits
            FROM ledger_transfers t
            JOIN ledger_accounts d ON d.id = t.debit_account_id
            JOIN ledger_accounts c ON c.id = t.credit_account_id
            WHERE t.kind = 'posted' AND d.owner LIKE 'merchant:%' AND c.owner LIKE 'fees:%'
            GROUP BY t.debit_account_id
        )
        SELECT 'account_flags_hold' AS invariant, format('account %s (%s, %s)', a.id, a.owner, a.currency) AS subject,
               CASE WHEN a.flags & 1 <> 0 THEN 'debits_pending + debits_posted - fee charges <= credits_posted'
                    ELSE 'credits_pending + credits_posted <= debits_posted' END AS expected,
               format('debits_pending=%s debits_posted=%s fee charges=%s credits_pending=%s credits_posted=%s',
                      a.debits_pending, a.debits_posted, coalesce(f.fee_debits, 0), a.credits_pending, a.credits_posted) AS actual
        FROM ledger_account_totals a LEFT JOIN fees f ON f.id = a.id
        WHERE (a.flags & 1 <> 0 AND a.debits_pending + a.debits_posted - coalesce(f.fee_debits, 0) > a.credits_posted)
           OR (a.flags & 2 <> 0 AND a.credits_pending + a.credits_posted > a.debits_posted)
        ORDER BY a.id
        """,
    ];
}

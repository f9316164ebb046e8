using System.Collections.Concurrent;
using Npgsql;
using NpgsqlTypes;
using Payrail.Domain.Ledger;

namespace Payrail.Ledger;

/// <summary>
/// The SQL that posts a payment's journal entries (DESIGN.md "Ledger"), added to the batch of the change that causes them:
/// accounts created on first use, transfers inserted, balances applied by the database trigger (0004, 0007, 0011).
/// One instance per store: it remembers account ids, which never change once created.
/// </summary>
public sealed class LedgerWrites
{
    private const int MaxKnownAccounts = 100_000;

    // Ledger accounts are never deleted and their ids never change: once seen, a payment neither creates nor
    // looks them up again, which spares the hot merchant account row four index lookups per payment.
    private readonly ConcurrentDictionary<(string Owner, string Currency), long> _accountIds = new();

    /// <summary>
    /// Adds the transfers of <paramref name="journalEntries"/> to the batch. Returns true when some account id was not known:
    /// then the batch ends with a lookup whose rows <see cref="ReadAccountIdsAsync"/> reads and <see cref="Remember"/> keeps.
    /// Add them last: the transfer trigger locks the merchant's account row, which every payment to that merchant needs;
    /// taking it just before COMMIT keeps the time others wait on it short.
    /// </summary>
    public bool AddTo(NpgsqlBatch batch, Guid paymentId, IReadOnlyList<IReadOnlyList<TransferDraft>> journalEntries) =>
        AddTo(batch, paymentId, journalEntries.SelectMany(entry => entry.Select(draft => new LedgerStep(entry[0].Id, draft))).ToList());

    /// <summary>
    /// As <see cref="AddTo(NpgsqlBatch, Guid, IReadOnlyList{IReadOnlyList{TransferDraft}})"/>, for transfers whose order
    /// interleaves journal entries (each step names its entry; e.g. <see cref="LedgerPostingRules.SettleWithRefunds"/>).
    /// </summary>
    public bool AddTo(NpgsqlBatch batch, Guid paymentId, IReadOnlyList<LedgerStep> steps)
    {
        var accounts = AccountsOf(steps);
        if (accounts.Count == 0) return false;
        var knownIds = KnownAccountIds(accounts);
        AddJournalEntries(batch, paymentId, steps, accounts, knownIds);
        if (knownIds is not null) return false;
        batch.BatchCommands.Add(SelectAccountIds(accounts));
        return true;
    }

    /// <summary>
    /// Creates the accounts <paramref name="steps"/> post to when missing and learns their ids, in one round trip of its
    /// own, for a writer that puts many payments' transfers in one batch (settlement): the batch then names account ids and
    /// needs no lookup of its own. Accounts are never deleted; one created here for a write that is then refused stays empty.
    /// </summary>
    public async Task LearnAccountsAsync(NpgsqlDataSource database, IReadOnlyList<LedgerStep> steps)
    {
        var accounts = AccountsOf(steps);
        if (accounts.Count == 0 || KnownAccountIds(accounts) is not null) return;
        await using var connection = await database.OpenConnectionAsync().ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        AddJournalEntries(batch, Guid.Empty, [], accounts, knownIds: null);
        batch.BatchCommands.Add(SelectAccountIds(accounts));
        await using var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false);
        Remember(await ReadAccountIdsAsync(reader).ConfigureAwait(false));
    }

    /// <summary>The account ids the lookup returned, from every result set of the batch (only the lookup has three columns).</summary>
    public static async Task<List<((string Owner, string Currency) Account, long Id)>> ReadAccountIdsAsync(NpgsqlDataReader reader)
    {
        var learned = new List<((string Owner, string Currency) Account, long Id)>();
        do
        {
            if (reader.FieldCount != 3) continue;
            while (await reader.ReadAsync().ConfigureAwait(false))
                learned.Add(((reader.GetString(1), reader.GetString(2)), reader.GetInt64(0)));
        }
        while (await reader.NextResultAsync().ConfigureAwait(false));
        return learned;
    }

    /// <summary>Keeps ids read by a batch that committed (an id of a rolled-back first use would not exist).</summary>
    public void Remember(IEnumerable<((string Owner, string Currency) Account, long Id)> learned)
    {
        foreach (var (account, id) in learned)
        {
            if (_accountIds.Count < MaxKnownAccounts) _accountIds.TryAdd(account, id);
        }
    }

    /// <summary>The (owner, currency) accounts some journal entries post to, in a fixed order so concurrent first uses cannot deadlock.</summary>
    private static List<(string Owner, string Currency)> AccountsOf(IReadOnlyList<LedgerStep> steps) =>
        steps.Select(s => s.Transfer)
            .SelectMany(d => new[] { (d.DebitOwner, d.Currency.Code), (d.CreditOwner, d.Currency.Code) })
            .Distinct().OrderBy(o => o.Item1, StringComparer.Ordinal).ThenBy(o => o.Item2, StringComparer.Ordinal).ToList();

    /// <summary>Ids of every account when all are known, else null (then they are created if missing and looked up).</summary>
    private Dictionary<(string Owner, string Currency), long>? KnownAccountIds(List<(string Owner, string Currency)> accounts)
    {
        var ids = new Dictionary<(string Owner, string Currency), long>(accounts.Count);
        foreach (var account in accounts)
        {
            if (!_accountIds.TryGetValue(account, out var id)) return null;
            ids[account] = id;
        }
        return ids;
    }

    private static void AddJournalEntries(NpgsqlBatch batch, Guid paymentId, IReadOnlyList<LedgerStep> steps,
        List<(string Owner, string Currency)> accounts, Dictionary<(string Owner, string Currency), long>? knownIds)
    {
        if (knownIds is null)
        {
            var ensure = new NpgsqlBatchCommand("""
                INSERT INTO ledger_accounts (owner, currency, flags)
                SELECT account.owner, account.currency, account.flags
                FROM unnest(@owners, @currencies, @flags) WITH ORDINALITY AS account(owner, currency, flags, n)
                ORDER BY account.n
                ON CONFLICT (owner, currency) DO NOTHING
                """);
            ensure.Parameters.Add(new NpgsqlParameter("owners", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = accounts.Select(o => o.Owner).ToArray() });
            ensure.Parameters.Add(new NpgsqlParameter("currencies", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = accounts.Select(o => o.Currency).ToArray() });
            ensure.Parameters.Add(new NpgsqlParameter("flags", NpgsqlDbType.Array | NpgsqlDbType.Integer)
                { Value = accounts.Select(o => (int)LedgerAccounts.FlagsFor(o.Owner)).ToArray() });
            batch.BatchCommands.Add(ensure);
        }

        // One journal entry per operation; its first transfer's deterministic id names it.
        foreach (var (journalEntryId, draft) in steps)
        {
            // No ON CONFLICT: a resumed flow re-posting the same deterministic id with the same fields is skipped by
            // the database (0011), one with other fields aborts the batch (PR010); a concurrent insert of the same
            // id then fails on the primary key instead of being skipped unseen.
            var insert = new NpgsqlBatchCommand(knownIds is null
                ? """
                  INSERT INTO ledger_transfers (id, journal_entry_id, debit_account_id, credit_account_id, amount_minor,
                                                currency, kind, pending_id, payment_id)
                  SELECT @id, @journal_entry_id, debit.id, credit.id, @amount_minor, @currency, @kind, @pending_id, @payment_id
                  FROM ledger_accounts debit, ledger_accounts credit
                  WHERE debit.owner = @debit_owner AND debit.currency = @currency
                    AND credit.owner = @credit_owner AND credit.currency = @currency
                  """
                : """
                  INSERT INTO ledger_transfers (id, journal_entry_id, debit_account_id, credit_account_id, amount_minor,
                                                currency, kind, pending_id, payment_id)
                  VALUES (@id, @journal_entry_id, @debit_account_id, @credit_account_id, @amount_minor, @currency, @kind, @pending_id, @payment_id)
                  """);
            var p = insert.Parameters;
            p.AddWithValue("id", draft.Id);
            p.AddWithValue("journal_entry_id", journalEntryId);
            p.AddWithValue("amount_minor", draft.AmountMinor);
            p.AddWithValue("currency", draft.Currency.Code);
            p.AddWithValue("kind", KindWire(draft.Kind));
            p.Add(new NpgsqlParameter("pending_id", NpgsqlDbType.Uuid) { Value = (object?)draft.PendingId ?? DBNull.Value });
            p.AddWithValue("payment_id", paymentId);
            if (knownIds is null)
            {
                p.AddWithValue("debit_owner", draft.DebitOwner);
                p.AddWithValue("credit_owner", draft.CreditOwner);
            }
            else
            {
                p.AddWithValue("debit_account_id", knownIds[(draft.DebitOwner, draft.Currency.Code)]);
                p.AddWithValue("credit_account_id", knownIds[(draft.CreditOwner, draft.Currency.Code)]);
            }
            batch.BatchCommands.Add(insert);
        }
    }

    private static NpgsqlBatchCommand SelectAccountIds(List<(string Owner, string Currency)> accounts)
    {
        var select = new NpgsqlBatchCommand("""
            SELECT id, owner, currency::text FROM ledger_accounts
            WHERE (owner, currency) IN (SELECT * FROM unnest(@owners, @currencies::bpchar[]))
            """);
        select.Parameters.Add(new NpgsqlParameter("owners", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = accounts.Select(o => o.Owner).ToArray() });
        select.Parameters.Add(new NpgsqlParameter("currencies", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = accounts.Select(o => o.Currency).ToArray() });
        return select;
    }


    private static string KindWire(TransferKind kind) => kind switch
    {
        TransferKind.Posted => "posted",
        TransferKind.Pending => "pending",
        TransferKind.PostPending => "post_pending",
        TransferKind.VoidPending => "void_pending",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown transfer kind"),
    };

}

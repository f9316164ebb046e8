namespace Payrail.Domain.Ledger;

/// <summary>
/// The ledger's invariants (DESIGN.md "Ledger"), computed from the transfers alone the way the
/// SQL check does, then compared with the stored account columns.
/// </summary>
internal static class LedgerInvariants
{
    public static IReadOnlyList<LedgerViolation> Check(
        IReadOnlyList<TransferDraft> transfers, IEnumerable<LedgerAccount> accounts)
    {
        var violations = new List<LedgerViolation>();
        foreach (var transfer in transfers.Where(t => t.AmountMinor <= 0))
        {
            violations.Add(new("amount_not_positive", $"Transfer {transfer.Id} has amount {transfer.AmountMinor}."));
        }

        var expected = ExpectedColumns(transfers);
        var stored = accounts.ToDictionary(a => (a.Owner, a.Currency.Code));
        foreach (var key in expected.Keys.Union(stored.Keys))
        {
            var want = expected.GetValueOrDefault(key);
            var have = stored.TryGetValue(key, out var account)
                ? new Columns(account.DebitsPending, account.DebitsPosted, account.CreditsPending, account.CreditsPosted)
                : new Columns(0, 0, 0, 0);
            if (want != have)
            {
                violations.Add(new("columns_mismatch", $"{key.Owner} {key.Code}: stored {have}, transfers sum to {want}."));
            }

            if (account is not null && !account.RespectsFlagsBesides(FeeDebits(transfers, key)))
            {
                violations.Add(new("flags_violated", $"{key.Owner} {key.Code}: {account.Flags} broken by {have}."));
            }

            if (have.DebitsPending < 0 || have.DebitsPosted < 0 || have.CreditsPending < 0 || have.CreditsPosted < 0)
            {
                violations.Add(new("negative_column", $"{key.Owner} {key.Code}: {have}."));
            }
        }

        foreach (var currency in stored.Values.GroupBy(a => a.Currency.Code))
        {
            var debitsPosted = Sum(currency, a => a.DebitsPosted);
            var creditsPosted = Sum(currency, a => a.CreditsPosted);
            var debitsPending = Sum(currency, a => a.DebitsPending);
            var creditsPending = Sum(currency, a => a.CreditsPending);
            if (debitsPosted != creditsPosted || debitsPending != creditsPending)
            {
                violations.Add(new("unbalanced", $"{currency.Key}: posted {debitsPosted} debits vs {creditsPosted} credits; " +
                    $"pending {debitsPending} debits vs {creditsPending} credits."));
            }
        }

        return violations;
    }

    // Posted columns: every Posted and PostPending amount. Pending columns: every Pending amount
    // not yet resolved by a PostPending or VoidPending. Int128 so a corrupt book cannot overflow the check.
    private static Dictionary<(string Owner, string Code), Columns> ExpectedColumns(IReadOnlyList<TransferDraft> transfers)
    {
        var resolved = transfers.Where(t => t.PendingId is not null).Select(t => t.PendingId!.Value).ToHashSet();
        var columns = new Dictionary<(string Owner, string Code), Columns>();
        foreach (var t in transfers)
        {
            var debitKey = (t.DebitOwner, t.Currency.Code);
            var creditKey = (t.CreditOwner, t.Currency.Code);
            var debit = columns.GetValueOrDefault(debitKey);
            var credit = columns.GetValueOrDefault(creditKey);
            switch (t.Kind)
            {
                case TransferKind.Posted or TransferKind.PostPending:
                    debit = debit with { DebitsPosted = debit.DebitsPosted + t.AmountMinor };
                    credit = credit with { CreditsPosted = credit.CreditsPosted + t.AmountMinor };
                    break;
                case TransferKind.Pending when !resolved.Contains(t.Id):
                    debit = debit with { DebitsPending = debit.DebitsPending + t.AmountMinor };
                    credit = credit with { CreditsPending = credit.CreditsPending + t.AmountMinor };
                    break;
            }

            columns[debitKey] = debit;
            columns[creditKey] = credit;
        }

        return columns;
    }

    // Fees charged to the account: the flags do not refuse them (LedgerAccounts.IsFeeCharge), so they do not count against them.
    private static long FeeDebits(IReadOnlyList<TransferDraft> transfers, (string Owner, string Code) account) =>
        transfers.Where(t => t.DebitOwner == account.Owner && t.Currency.Code == account.Code && LedgerAccounts.IsFeeCharge(t))
            .Aggregate(0L, (total, t) => checked(total + t.AmountMinor));

    private static Int128 Sum(IEnumerable<LedgerAccount> accounts, Func<LedgerAccount, long> column) =>
        accounts.Aggregate(Int128.Zero, (total, a) => total + column(a));

    private readonly record struct Columns(Int128 DebitsPending, Int128 DebitsPosted, Int128 CreditsPending, Int128 CreditsPosted);
}

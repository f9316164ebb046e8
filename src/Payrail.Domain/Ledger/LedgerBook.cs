using Payrail.Domain.Money;

namespace Payrail.Domain.Ledger;

/// <summary>
/// An in-memory ledger with TigerBeetle semantics: the reference the database writer and
/// `payrail ledger verify` mirror in SQL, and the model property tests run against.
/// Transfers are only ever added; a rejected transfer changes nothing.
/// </summary>
public sealed class LedgerBook(IReadOnlySet<string>? merchantsPayableMayGoNegative = null)
{
    // Merchant ids whose accounts open without the debit limit (merchants.payable_may_go_negative, migration 0019).
    private readonly IReadOnlySet<string> _mayGoNegative = merchantsPayableMayGoNegative ?? new HashSet<string>();

    private readonly Dictionary<(string Owner, string Currency), LedgerAccount> _accounts = new();
    private readonly Dictionary<Guid, TransferDraft> _transfers = new();
    private readonly List<TransferDraft> _journal = new();

    // Pending transfer id → the transfer that resolved it (post or void), once resolved.
    private readonly Dictionary<Guid, TransferDraft> _resolutions = new();

    public IReadOnlyList<TransferDraft> Transfers => _journal;

    public IReadOnlyCollection<LedgerAccount> Accounts => _accounts.Values;

    /// <summary>The account's columns, or a fresh zero account if nothing touched it yet.</summary>
    public LedgerAccount Account(string owner, Currency currency) =>
        _accounts.TryGetValue((owner, currency.Code), out var account) ? account
            : new LedgerAccount(owner, currency, LedgerAccounts.FlagsFor(owner, MayGoNegative(owner)), 0, 0, 0, 0);

    private bool MayGoNegative(string owner) =>
        LedgerAccountOwner.IsMerchant(owner) && _mayGoNegative.Contains(owner[LedgerAccountOwner.MerchantPrefix.Length..]);

    /// <summary>
    /// Applies transfers in order, stopping at the first that is not a success. Not atomic:
    /// transfers before a failure stay applied. Every posting rule writes one transfer per
    /// entry today; a multi-transfer entry needs all-or-nothing (the DB transaction) first.
    /// </summary>
    public IReadOnlyList<TransferResult> Apply(IEnumerable<TransferDraft> entry)
    {
        var results = new List<TransferResult>();
        foreach (var transfer in entry)
        {
            var result = Apply(transfer);
            results.Add(result);
            if (!result.IsSuccess())
            {
                break;
            }
        }

        return results;
    }

    public TransferResult Apply(TransferDraft transfer)
    {
        ArgumentNullException.ThrowIfNull(transfer);
        if (_transfers.TryGetValue(transfer.Id, out var existing))
        {
            return existing == transfer ? TransferResult.Exists : TransferResult.ExistsWithDifferentFields;
        }

        var check = CheckShape(transfer);
        if (check != TransferResult.Ok)
        {
            return check;
        }

        TransferDraft? pending = null;
        if (transfer.Kind is TransferKind.PostPending or TransferKind.VoidPending)
        {
            check = CheckPending(transfer, out pending);
            if (check != TransferResult.Ok)
            {
                return check;
            }
        }

        var debit = Account(transfer.DebitOwner, transfer.Currency);
        var credit = Account(transfer.CreditOwner, transfer.Currency);
        LedgerAccount newDebit, newCredit;
        try
        {
            (newDebit, newCredit) = Move(debit, credit, transfer, pending);

            // Only the side that grows can break its flag: debits on the debit account, credits on the credit account.
            // Resolutions of holds and fee charges are not checked (LedgerAccounts.FlagsChecked).
            var flagsChecked = LedgerAccounts.FlagsChecked(transfer);
            if (flagsChecked && newDebit.Flags.HasFlag(AccountFlags.DebitsMustNotExceedCredits) && newDebit.DebitsExceedCredits)
            {
                return TransferResult.ExceedsCredits;
            }

            if (flagsChecked && newCredit.Flags.HasFlag(AccountFlags.CreditsMustNotExceedDebits) && newCredit.CreditsExceedDebits)
            {
                return TransferResult.ExceedsDebits;
            }
        }
        catch (OverflowException)
        {
            return TransferResult.Overflow;
        }

        _accounts[(newDebit.Owner, transfer.Currency.Code)] = newDebit;
        _accounts[(newCredit.Owner, transfer.Currency.Code)] = newCredit;
        _transfers.Add(transfer.Id, transfer);
        _journal.Add(transfer);
        if (pending is not null)
        {
            _resolutions.Add(pending.Id, transfer);
        }

        return TransferResult.Ok;
    }

    /// <summary>Every broken invariant; empty when the books are sound.</summary>
    public IReadOnlyList<LedgerViolation> Verify() => LedgerInvariants.Check(_journal, _accounts.Values);

    private static TransferResult CheckShape(TransferDraft transfer)
    {
        if (transfer.AmountMinor <= 0)
        {
            return TransferResult.AmountMustBePositive;
        }

        if (transfer.DebitOwner == transfer.CreditOwner)
        {
            return TransferResult.AccountsMustBeDifferent;
        }

        if (!IsKnownOwner(transfer.DebitOwner) || !IsKnownOwner(transfer.CreditOwner))
        {
            return TransferResult.UnknownOwner;
        }

        var needsPending = transfer.Kind is TransferKind.PostPending or TransferKind.VoidPending;
        if (needsPending && transfer.PendingId is null)
        {
            return TransferResult.PendingIdRequired;
        }

        return !needsPending && transfer.PendingId is not null ? TransferResult.PendingIdMustBeEmpty : TransferResult.Ok;
    }

    private static bool IsKnownOwner(string? owner) => LedgerAccountOwner.IsKnown(owner);

    private TransferResult CheckPending(TransferDraft transfer, out TransferDraft? pending)
    {
        if (!_transfers.TryGetValue(transfer.PendingId!.Value, out pending))
        {
            return TransferResult.PendingTransferNotFound;
        }

        if (pending.Kind != TransferKind.Pending)
        {
            return TransferResult.PendingTransferNotPending;
        }

        if (pending.DebitOwner != transfer.DebitOwner || pending.CreditOwner != transfer.CreditOwner)
        {
            return TransferResult.PendingTransferHasDifferentAccounts;
        }

        if (pending.Currency != transfer.Currency)
        {
            return TransferResult.PendingTransferHasDifferentCurrency;
        }

        if (_resolutions.TryGetValue(pending.Id, out var resolution))
        {
            return resolution.Kind == TransferKind.PostPending
                ? TransferResult.PendingTransferAlreadyPosted
                : TransferResult.PendingTransferAlreadyVoided;
        }

        if (transfer.Kind == TransferKind.PostPending && transfer.AmountMinor > pending.AmountMinor)
        {
            return TransferResult.ExceedsPendingTransferAmount;
        }

        return transfer.Kind == TransferKind.VoidPending && transfer.AmountMinor != pending.AmountMinor
            ? TransferResult.VoidAmountMustMatchPendingAmount
            : TransferResult.Ok;
    }

    private static (LedgerAccount Debit, LedgerAccount Credit) Move(
        LedgerAccount debit, LedgerAccount credit, TransferDraft transfer, TransferDraft? pending)
    {
        var amount = transfer.AmountMinor;
        return checked(transfer.Kind switch
        {
            TransferKind.Posted => (
                debit with { DebitsPosted = debit.DebitsPosted + amount },
                credit with { CreditsPosted = credit.CreditsPosted + amount }),
            TransferKind.Pending => (
                debit with { DebitsPending = debit.DebitsPending + amount },
                credit with { CreditsPending = credit.CreditsPending + amount }),
            // The whole pending amount leaves the pending columns; only the posted part lands.
            TransferKind.PostPending => (
                debit with { DebitsPending = debit.DebitsPending - pending!.AmountMinor, DebitsPosted = debit.DebitsPosted + amount },
                credit with { CreditsPending = credit.CreditsPending - pending.AmountMinor, CreditsPosted = credit.CreditsPosted + amount }),
            TransferKind.VoidPending => (
                debit with { DebitsPending = debit.DebitsPending - pending!.AmountMinor },
                credit with { CreditsPending = credit.CreditsPending - pending.AmountMinor }),
            _ => throw new ArgumentOutOfRangeException(nameof(transfer), transfer.Kind, "Unknown transfer kind."),
        });
    }
}

using Payrail.Domain.Money;

namespace Payrail.Domain.Ledger;

public enum TransferKind
{
    /// <summary>Moves money at once (debits_posted / credits_posted).</summary>
    Posted,

    /// <summary>Reserves money (debits_pending / credits_pending): an authorization hold.</summary>
    Pending,

    /// <summary>
    /// Resolves a pending transfer by posting Amount (≤ the pending amount). The whole pending
    /// amount leaves the pending columns; the remainder is released (a partial capture).
    /// </summary>
    PostPending,

    /// <summary>Resolves a pending transfer by releasing it whole; Amount equals the pending amount.</summary>
    VoidPending,
}

/// <summary>
/// One immutable transfer: one debit and one credit of the same positive amount in one currency.
/// Every journal entry built from these balances per currency by construction.
/// </summary>
public sealed record TransferDraft(
    Guid Id,
    TransferKind Kind,
    string DebitOwner,
    string CreditOwner,
    long AmountMinor,
    Currency Currency,
    Guid? PendingId);

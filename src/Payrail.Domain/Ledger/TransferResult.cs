namespace Payrail.Domain.Ledger;

/// <summary>What the ledger did with a transfer. Names follow TigerBeetle's result codes.</summary>
public enum TransferResult
{
    Ok,

    /// <summary>The same transfer (same id, same fields) was already applied: idempotent success, nothing posted.</summary>
    Exists,

    ExistsWithDifferentFields,
    AmountMustBePositive,
    AccountsMustBeDifferent,
    PendingIdMustBeEmpty,
    PendingIdRequired,
    PendingTransferNotFound,
    PendingTransferNotPending,
    PendingTransferHasDifferentAccounts,
    PendingTransferHasDifferentCurrency,
    PendingTransferAlreadyPosted,
    PendingTransferAlreadyVoided,
    ExceedsPendingTransferAmount,
    VoidAmountMustMatchPendingAmount,
    ExceedsCredits,
    ExceedsDebits,
    Overflow,
    UnknownOwner,
}

public static class TransferResultCodes
{
    /// <summary>True for Ok and Exists: the transfer is in the book exactly once.</summary>
    public static bool IsSuccess(this TransferResult result) =>
        result is TransferResult.Ok or TransferResult.Exists;

    /// <summary>The stable snake_case code for logs, API errors and the SQL mirror.</summary>
    public static string ToCode(this TransferResult result) => result switch
    {
        TransferResult.Ok => "ok",
        TransferResult.Exists => "exists",
        TransferResult.ExistsWithDifferentFields => "exists_with_different_fields",
        TransferResult.AmountMustBePositive => "amount_must_be_positive",
        TransferResult.AccountsMustBeDifferent => "accounts_must_be_different",
        TransferResult.PendingIdMustBeEmpty => "pending_id_must_be_empty",
        TransferResult.PendingIdRequired => "pending_id_required",
        TransferResult.PendingTransferNotFound => "pending_transfer_not_found",
        TransferResult.PendingTransferNotPending => "pending_transfer_not_pending",
        TransferResult.PendingTransferHasDifferentAccounts => "pending_transfer_has_different_accounts",
        TransferResult.PendingTransferHasDifferentCurrency => "pending_transfer_has_different_currency",
        TransferResult.PendingTransferAlreadyPosted => "pending_transfer_already_posted",
        TransferResult.PendingTransferAlreadyVoided => "pending_transfer_already_voided",
        TransferResult.ExceedsPendingTransferAmount => "exceeds_pending_transfer_amount",
        TransferResult.VoidAmountMustMatchPendingAmount => "void_amount_must_match_pending_amount",
        TransferResult.ExceedsCredits => "exceeds_credits",
        TransferResult.ExceedsDebits => "exceeds_debits",
        TransferResult.Overflow => "overflow",
        TransferResult.UnknownOwner => "unknown_owner",
        _ => throw new ArgumentOutOfRangeException(nameof(result), result, "Unknown transfer result."),
    };
}

/// <summary>A broken ledger invariant found by <see cref="LedgerBook.Verify"/>.</summary>
public sealed record LedgerViolation(string Code, string Detail);

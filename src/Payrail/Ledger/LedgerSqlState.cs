namespace Payrail.Ledger;

/// <summary>
/// SQLSTATE codes the ledger's database triggers raise (Database/Migrations/0004_ledger.sql, 0011), and PostgreSQL's
/// own codes that the payment path acts on.
/// </summary>
public static class LedgerSqlState
{
    // PostgreSQL rolled the whole transaction back and it may simply be sent again (Payments/PaymentStore.ApplyAsync).
    public const string SerializationFailure = "40001";
    public const string DeadlockDetected = "40P01";

    public const string CurrencyMismatch = "PR001";
    public const string InvalidPendingReference = "PR002";
    public const string PendingAmountMismatch = "PR003";
    public const string BalanceLimitExceeded = "PR004";
    public const string AppendOnly = "PR005";
    public const string BalanceChangedOutsideTransfer = "PR006";

    /// <summary>A ledger account's owner, currency, flags (or any other column) changed: fixed once created.</summary>
    public const string AccountChanged = "PR009";

    /// <summary>
    /// A transfer id re-posted with other fields (TransferResult.ExistsWithDifferentFields); the same fields are a no-op.
    /// </summary>
    public const string TransferExistsWithDifferentFields = "PR010";

    /// <summary>A PSP webhook event id already recorded (0013): the delivery is a duplicate, its whole batch rolled back.</summary>
    public const string WebhookEventAlreadyReceived = "PR013";
}

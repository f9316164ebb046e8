namespace Payrail.Ledger;

/// <summary>SQLSTATE codes the ledger's database triggers raise (Database/Migrations/0004_ledger.sql).</summary>
public static class LedgerSqlState
{
    public const string CurrencyMismatch = "PR001";
    public const string InvalidPendingReference = "PR002";
    public const string PendingAmountMismatch = "PR003";
    public const string BalanceLimitExceeded = "PR004";
    public const string AppendOnly = "PR005";
    public const string BalanceChangedOutsideTransfer = "PR006";
}

using System.Text.Json;
using Dapper;
using Npgsql;
using Payrail.Domain.Ledger;
using Spectre.Console;

namespace Payrail.Settlement;

/// <summary>
/// One currency of a merchant's books, read off its ledger account and transfers (minor units of that currency).
/// Payable = captured − refunded − fees + converted in − converted out: what Payrail owes the merchant now; it equals the
/// account's posted credits − posted debits (checked when read). Held: authorizations not yet captured. Awaiting
/// settlement: captured amounts of payments still CAPTURED (not yet released by the PSP).
/// </summary>
public sealed record MerchantBalance(
    string Currency, long CapturedMinor, long RefundedMinor, long FeesMinor, long ConvertedInMinor, long ConvertedOutMinor,
    long PayableMinor, long HeldMinor, long AwaitingSettlementMinor);

/// <summary>`payrail balances --merchant ID [--format table|json]` (cold path: Dapper, one snapshot).</summary>
public static class MerchantBalances
{
    public const int UnknownMerchantExitCode = 1;
    public const int UsageExitCode = 64;

    public static async Task<IReadOnlyList<MerchantBalance>> ReadAsync(NpgsqlConnection connection, string merchantId, CancellationToken cancellationToken)
    {
        var owner = LedgerAccountOwner.Merchant(merchantId);
        var rows = (await connection.QueryAsync<MerchantBalance>(new CommandDefinition("""
            WITH account AS (
                SELECT id, currency, credits_posted - debits_posted AS payable, credits_pending AS held
                FROM ledger_account_totals WHERE owner = @owner
            ), legs AS (
                SELECT a.id AS account_id, t.amount_minor, t.kind, t.debit_account_id = a.id AS merchant_pays, other.owner AS other_owner
                FROM account a
                JOIN ledger_transfers t ON a.id IN (t.debit_account_id, t.credit_account_id)
                JOIN ledger_accounts other ON other.id = CASE WHEN t.debit_account_id = a.id THEN t.credit_account_id ELSE t.debit_account_id END
                WHERE t.kind IN ('posted', 'post_pending')
            ), awaiting AS (
                SELECT currency, sum(amount_captured_minor - amount_refunded_minor) AS amount
                FROM payments WHERE merchant_id = @merchant AND status = 'captured' GROUP BY currency
            )
            SELECT a.currency::text AS Currency,
                   coalesce(sum(l.amount_minor) FILTER (WHERE NOT l.merchant_pays AND l.other_owner LIKE 'buyer:%'), 0)::bigint AS CapturedMinor,
                   coalesce(sum(l.amount_minor) FILTER (WHERE l.merchant_pays AND l.other_owner LIKE 'buyer:%'), 0)::bigint AS RefundedMinor,
                   coalesce(sum(l.amount_minor) FILTER (WHERE l.merchant_pays AND l.other_owner LIKE 'fees:%'), 0)::bigint AS FeesMinor,
                   coalesce(sum(l.amount_minor) FILTER (WHERE NOT l.merchant_pays AND l.other_owner LIKE 'fx:%'), 0)::bigint AS ConvertedInMinor,
                   coalesce(sum(l.amount_minor) FILTER (WHERE l.merchant_pays AND l.other_owner LIKE 'fx:%'), 0)::bigint AS ConvertedOutMinor,
                   a.payable::bigint AS PayableMinor, a.held::bigint AS HeldMinor,
                   coalesce(max(w.amount), 0)::bigint AS AwaitingSettlementMinor
            FROM account a
            LEFT JOIN legs l ON l.account_id = a.id
            LEFT JOIN awaiting w ON w.currency = a.currency
            GROUP BY a.id, a.currency, a.payable, a.held
            ORDER BY a.currency
            """, new { owner, merchant = merchantId }, cancellationToken: cancellationToken))).ToList();
        foreach (var row in rows)
        {
            var parts = row.CapturedMinor - row.RefundedMinor - row.FeesMinor + row.ConvertedInMinor - row.ConvertedOutMinor;
            // The breakdown and the account must agree; a transfer of another kind against a merchant account is a bug.
            if (parts != row.PayableMinor)
                throw new InvalidOperationException($"merchant {merchantId} {row.Currency}: breakdown {parts} differs from the account's payable {row.PayableMinor}");
        }
        return rows;
    }

    public static async Task<int> PrintAsync(NpgsqlConnection connection, string merchantId, string format, TextWriter output, CancellationToken cancellationToken)
    {
        if (format is not ("table" or "json"))
        {
            await Console.Error.WriteLineAsync("payrail balances: --format must be table or json");
            return UsageExitCode;
        }
        if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT EXISTS (SELECT 1 FROM merchants WHERE id = @id)",
                new { id = merchantId }, cancellationToken: cancellationToken)))
        {
            await Console.Error.WriteLineAsync($"payrail balances: no merchant {merchantId}");
            return UnknownMerchantExitCode;
        }
        var balances = await ReadAsync(connection, merchantId, cancellationToken);
        if (format == "json")
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(new { merchant_id = merchantId, balances = balances.Select(Json) }));
            return 0;
        }
        var table = new Table().AddColumns("currency", "captured", "refunded", "fees", "converted in", "converted out", "payable", "held",
            "awaiting settlement");
        foreach (var b in balances)
        {
            table.AddRow(b.Currency, Amount(b.CapturedMinor, b.Currency), Amount(b.RefundedMinor, b.Currency), Amount(b.FeesMinor, b.Currency),
                Amount(b.ConvertedInMinor, b.Currency), Amount(b.ConvertedOutMinor, b.Currency), Amount(b.PayableMinor, b.Currency),
                Amount(b.HeldMinor, b.Currency), Amount(b.AwaitingSettlementMinor, b.Currency));
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        // Redirected output has no terminal width to follow: wide enough that the nine columns never wrap.
        if (!ReferenceEquals(output, Console.Out) || Console.IsOutputRedirected) console.Profile.Width = 160;
        console.Write(new Markup($"merchant [bold]{Markup.Escape(merchantId)}[/]\n"));
        console.Write(table);
        return 0;
    }

    private static object Json(MerchantBalance b) => new
    {
        currency = b.Currency, captured_minor = b.CapturedMinor, refunded_minor = b.RefundedMinor, fees_minor = b.FeesMinor,
        converted_in_minor = b.ConvertedInMinor, converted_out_minor = b.ConvertedOutMinor, payable_minor = b.PayableMinor,
        held_minor = b.HeldMinor, awaiting_settlement_minor = b.AwaitingSettlementMinor,
    };

    /// <summary>Minor units shown in major units by the currency's ISO exponent, with integer arithmetic only.</summary>
    private static string Amount(long minor, string currencyCode)
    {
        var exponent = Domain.Money.Currency.TryFromCode(currencyCode, out var currency) ? currency.Exponent : 2;
        if (exponent == 0) return minor.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var scale = 1L;
        for (var i = 0; i < exponent; i++) scale *= 10;
        var sign = minor < 0 ? "-" : "";
        var magnitude = Math.Abs(minor);
        return $"{sign}{magnitude / scale}.{(magnitude % scale).ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(exponent, '0')}";
    }
}

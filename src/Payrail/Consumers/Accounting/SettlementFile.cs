using System.Globalization;
using System.Text;
using Npgsql;

namespace Payrail.Consumers.Accounting;

/// <summary>One line of a day's settlement.</summary>
public sealed record SettlementLine(Guid PaymentId, string Kind, string MerchantId, string Currency, long AmountMinor, DateTimeOffset OccurredAt);

/// <summary>
/// The day's settlement file, always rendered whole from <c>settlement_lines</c> (the read API serves the same text): a
/// redelivered event cannot add a line because the file never appends, it is rewritten from the table.
/// </summary>
public static class SettlementFile
{
    public const string Header = "payment_id,kind,merchant_id,currency,amount_minor,amount,occurred_at";

    public static async Task<IReadOnlyList<SettlementLine>> ReadAsync(NpgsqlDataSource database, DateOnly date, int maxLines,
        CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT payment_id, kind, merchant_id, currency, amount_minor, occurred_at
            FROM settlement_lines WHERE settlement_date = @date ORDER BY id LIMIT @limit
            """);
        command.Parameters.AddWithValue("date", date);
        command.Parameters.AddWithValue("limit", maxLines);
        var lines = new List<SettlementLine>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            lines.Add(new SettlementLine(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetInt64(4), reader.GetFieldValue<DateTimeOffset>(5)));
        return lines;
    }

    /// <summary>CSV with a header line; ids and codes never hold a comma (clean ids), so no field needs quoting.</summary>
    public static string Render(IReadOnlyList<SettlementLine> lines)
    {
        var csv = new StringBuilder(Header).Append('\n');
        foreach (var line in lines)
            csv.Append(line.PaymentId).Append(',').Append(line.Kind).Append(',').Append(Field(line.MerchantId)).Append(',')
                .Append(line.Currency).Append(',').Append(line.AmountMinor.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(MinorUnits.Format(line.AmountMinor, line.Currency)).Append(',')
                .Append(Payrail.Payments.PaymentRecord.Timestamp(line.OccurredAt)).Append('\n');
        return csv.ToString();
    }

    public static string FileName(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + ".csv";

    /// <summary>Merchant ids are clean ids (no whitespace); a comma or quote would still be quoted, never split a line.</summary>
    private static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}

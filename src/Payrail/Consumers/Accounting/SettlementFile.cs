using System.Globalization;
using System.Text;
using Npgsql;

namespace Payrail.Consumers.Accounting;

/// <summary>One line of a day's settlement.</summary>
public sealed record SettlementLine(Guid PaymentId, string Kind, string MerchantId, string Currency, long AmountMinor, DateTimeOffset OccurredAt);

/// <summary>
/// The day's settlement file, rendered from <c>settlement_lines</c> in id order (the read API serves the same text): a
/// redelivered event cannot add a line because the file only ever gets the table's lines, each once
/// (<see cref="SettlementFileWriter"/>: appended by id, rewritten whole when in doubt).
/// </summary>
public static class SettlementFile
{
    public const string Header = "payment_id,kind,merchant_id,currency,amount_minor,amount,occurred_at";

    public static async Task<IReadOnlyList<SettlementLine>> ReadAsync(NpgsqlDataSource database, DateOnly date, int maxLines,
        CancellationToken cancellationToken) =>
        (await ReadAfterAsync(database, date, afterId: 0, maxLines, cancellationToken)).Select(l => l.Line).ToList();

    /// <summary>The day's lines with an id above <paramref name="afterId"/>, in id order (the file's order), with their ids.</summary>
    public static async Task<List<(long Id, SettlementLine Line)>> ReadAfterAsync(NpgsqlDataSource database, DateOnly date, long afterId,
        int maxLines, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await ReadAfterAsync(connection, date, afterId, maxLines, cancellationToken);
    }

    /// <summary>The same, on <paramref name="connection"/> (in its transaction's snapshot, if it has one).</summary>
    public static async Task<List<(long Id, SettlementLine Line)>> ReadAfterAsync(NpgsqlConnection connection, DateOnly date, long afterId,
        int maxLines, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT id, payment_id, kind, merchant_id, currency, amount_minor, occurred_at
            FROM settlement_lines WHERE settlement_date = @date AND id > @after ORDER BY id LIMIT @limit
            """, connection);
        command.Parameters.AddWithValue("date", date);
        command.Parameters.AddWithValue("after", afterId);
        command.Parameters.AddWithValue("limit", maxLines);
        var lines = new List<(long, SettlementLine)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            lines.Add((reader.GetInt64(0), new SettlementLine(reader.GetGuid(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetInt64(5), reader.GetFieldValue<DateTimeOffset>(6))));
        return lines;
    }

    /// <summary>CSV with a header line; ids and codes never hold a comma (clean ids), so no field needs quoting.</summary>
    public static string Render(IReadOnlyList<SettlementLine> lines) => RenderLines(new StringBuilder(Header).Append('\n'), lines).ToString();

    /// <summary>The lines alone, appended to <paramref name="csv"/>: what an append to the day's file adds.</summary>
    public static StringBuilder RenderLines(StringBuilder csv, IEnumerable<SettlementLine> lines)
    {
        foreach (var line in lines)
            csv.Append(line.PaymentId).Append(',').Append(line.Kind).Append(',').Append(Field(line.MerchantId)).Append(',')
                .Append(line.Currency).Append(',').Append(line.AmountMinor.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(MinorUnits.Format(line.AmountMinor, line.Currency)).Append(',')
                .Append(Payrail.Payments.PaymentRecord.Timestamp(line.OccurredAt)).Append('\n');
        return csv;
    }

    public static string FileName(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + ".csv";

    /// <summary>Merchant ids are clean ids (no whitespace); a comma or quote would still be quoted, never split a line.</summary>
    private static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}

using System.Globalization;
using System.Text;
using Npgsql;

namespace Payrail.Dashboard;

/// <summary>
/// GET /payments/export.csv: the filtered list (every page, newest first) as CSV, streamed: rows go from the database
/// reader (Npgsql reads the result set as it arrives, one row at a time) to the response, flushed every
/// <see cref="DashboardWebOptions.ExportFlushRows"/> rows, so memory does not grow with the export and a slow client
/// slows the read instead of filling a buffer. At most <see cref="DashboardWebOptions.MaxExportRows"/> rows; a cut
/// export ends with a line that says so.
/// </summary>
public sealed class CsvExport(NpgsqlDataSource database, DashboardWebOptions options)
{
    public const string Header = "payment_id,created_at,status,amount,currency,amount_minor,amount_captured_minor,amount_refunded_minor,buyer_id,psp_reference,payment_method";

    private long _rowsWritten;

    /// <summary>Rows written by exports since start (tests watch a running export with it).</summary>
    public long RowsWritten => Interlocked.Read(ref _rowsWritten);

    public async Task<IResult> HandleAsync(HttpContext http)
    {
        if (DashboardSession.CallerOf(http) is not { } caller) return Results.Redirect("/signin");
        if (caller.MerchantId is not { } merchantId) return Results.Redirect("/ops");
        var filter = PaymentsFilter.Parse(http.Request.Query, out var errors) with { After = null };
        if (errors.Count > 0)
            return Results.Text("invalid filter: " + string.Join("; ", errors.Select(e => $"{e.Key}: {e.Value}")) + "\n", "text/plain",
                statusCode: StatusCodes.Status400BadRequest);
        return Results.Stream(stream => WriteAsync(stream, merchantId, filter, http.RequestAborted), "text/csv; charset=utf-8",
            $"payments-{merchantId}-{DateTime.UtcNow:yyyyMMdd-HHmmss}.csv");
    }

    private async Task WriteAsync(Stream body, string merchantId, PaymentsFilter filter, CancellationToken cancellationToken)
    {
        await using var writer = new StreamWriter(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 16 * 1024);
        await writer.WriteAsync(Header + "\n");
        // One row more than allowed: reading it tells a cut export from one that ended exactly at the bound.
        await using var command = PaymentsList.Command(database, merchantId, filter, options.MaxExportRows + 1, timeoutSeconds: 0);
        await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, cancellationToken);
        var written = 0;
        var line = new StringBuilder(256);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (written == options.MaxExportRows)
            {
                await writer.WriteAsync($"# cut at {options.MaxExportRows.ToString(CultureInfo.InvariantCulture)} rows (Dashboard:MaxExportRows): narrow the filter\n");
                break;
            }
            line.Clear();
            AppendLine(line, PaymentsList.Read(reader));
            await writer.WriteAsync(line, cancellationToken);
            written++;
            Interlocked.Increment(ref _rowsWritten);
            if (written % options.ExportFlushRows == 0) await writer.FlushAsync(cancellationToken);
        }
        await writer.FlushAsync(cancellationToken);
    }

    public static void AppendLine(StringBuilder line, PaymentRow row)
    {
        var amount = Html.Amount(row.AmountMinor, row.Currency);
        line.Append(row.Id).Append(',').Append(row.CreatedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture))
            .Append(',').Append(Field(row.Status)).Append(',').Append(amount[..amount.LastIndexOf(' ')]).Append(',').Append(Field(row.Currency))
            .Append(',').Append(row.AmountMinor.ToString(CultureInfo.InvariantCulture))
            .Append(',').Append(row.CapturedMinor.ToString(CultureInfo.InvariantCulture))
            .Append(',').Append(row.RefundedMinor.ToString(CultureInfo.InvariantCulture))
            .Append(',').Append(Field(row.BuyerId)).Append(',').Append(Field(row.PspReference)).Append(',').Append(Field(row.PaymentMethod))
            .Append('\n');
    }

    /// <summary>
    /// RFC 4180 quoting, and a leading quote mark on text a spreadsheet would run as a formula (=, +, -, @): a buyer id
    /// comes from outside.
    /// </summary>
    public static string Field(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r') value = "'" + value;
        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;
    }
}

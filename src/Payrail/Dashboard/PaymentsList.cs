using Npgsql;
using NpgsqlTypes;

namespace Payrail.Dashboard;

/// <summary>One payment as the list shows it.</summary>
public sealed record PaymentRow(Guid Id, string BuyerId, string Status, long AmountMinor, string Currency, long CapturedMinor,
    long RefundedMinor, string? PspReference, string? PaymentMethod, DateTimeOffset CreatedAt, int Version);

/// <summary>
/// The merchant's payments, newest first, read from <c>payments</c> (the truth; the live rows only patch what the page
/// shows) on its <c>payments_merchant_newest</c> index, keyset-paged on (created_at, id). The same query feeds the CSV
/// export, which reads it as a stream.
/// </summary>
public static class PaymentsList
{
    private const string Columns =
        "id, buyer_id, status, amount_minor, currency, amount_captured_minor, amount_refunded_minor, psp_reference, payment_method, created_at, version";

    public static NpgsqlCommand Command(NpgsqlDataSource database, string merchantId, PaymentsFilter filter, int limit, int timeoutSeconds)
    {
        var command = database.CreateCommand($"""
            SELECT {Columns} FROM payments
            WHERE merchant_id = @merchant_id
              AND (@status::text IS NULL OR status = @status)
              AND (@from::timestamptz IS NULL OR created_at >= @from)
              AND (@to::timestamptz IS NULL OR created_at < @to)
              AND (@min::bigint IS NULL OR amount_minor >= @min)
              AND (@max::bigint IS NULL OR amount_minor <= @max)
              AND (@currency::text IS NULL OR currency = @currency)
              AND (@method::text IS NULL OR payment_method = @method)
              AND (@search_id::uuid IS NULL OR id = @search_id)
              AND (@search::text IS NULL OR buyer_id = @search OR psp_reference = @search)
              AND (@after_at::timestamptz IS NULL OR (created_at, id) < (@after_at, @after_id))
            ORDER BY created_at DESC, id DESC
            LIMIT @limit
            """);
        command.CommandTimeout = timeoutSeconds;
        var p = command.Parameters;
        p.AddWithValue("merchant_id", merchantId);
        p.Add(Nullable("status", NpgsqlDbType.Text, filter.Status));
        p.Add(Nullable("from", NpgsqlDbType.TimestampTz, filter.FromTime));
        p.Add(Nullable("to", NpgsqlDbType.TimestampTz, filter.ToTimeExclusive));
        p.Add(Nullable("min", NpgsqlDbType.Bigint, filter.MinAmountMinor));
        p.Add(Nullable("max", NpgsqlDbType.Bigint, filter.MaxAmountMinor));
        p.Add(Nullable("currency", NpgsqlDbType.Text, filter.Currency));
        p.Add(Nullable("method", NpgsqlDbType.Text, filter.PaymentMethod));
        var searchId = filter.SearchPaymentId;
        p.Add(Nullable("search_id", NpgsqlDbType.Uuid, searchId));
        p.Add(Nullable("search", NpgsqlDbType.Text, searchId is null ? filter.Search : null));
        p.Add(Nullable("after_at", NpgsqlDbType.TimestampTz, filter.After?.CreatedAt));
        p.Add(Nullable("after_id", NpgsqlDbType.Uuid, filter.After?.Id));
        p.AddWithValue("limit", limit);
        return command;
    }

    /// <summary>One page: up to <paramref name="pageSize"/> rows and whether more follow.</summary>
    public static async Task<(List<PaymentRow> Rows, bool HasMore)> PageAsync(NpgsqlDataSource database, string merchantId,
        PaymentsFilter filter, int pageSize, int timeoutSeconds, CancellationToken cancellationToken)
    {
        await using var command = Command(database, merchantId, filter, pageSize + 1, timeoutSeconds);
        var rows = new List<PaymentRow>(pageSize + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) rows.Add(Read(reader));
        var hasMore = rows.Count > pageSize;
        if (hasMore) rows.RemoveAt(rows.Count - 1);
        return (rows, hasMore);
    }

    public static PaymentRow Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetString(4), reader.GetInt64(5),
        reader.GetInt64(6), reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8),
        reader.GetFieldValue<DateTimeOffset>(9), reader.GetInt32(10));

    private static NpgsqlParameter Nullable<T>(string name, NpgsqlDbType type, T? value) =>
        new(name, type) { Value = (object?)value ?? DBNull.Value };
}

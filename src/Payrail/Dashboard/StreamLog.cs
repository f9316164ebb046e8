using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;

namespace Payrail.Dashboard;

/// <summary>One row of a merchant's stream log (migration 0020), as an event of the live stream.</summary>
public sealed record StreamRow(long Seq, Guid PaymentId, string EventType, string BuyerId, string Status, long AmountMinor,
    string Currency, long CapturedMinor, long RefundedMinor, int Version, DateTimeOffset OccurredAt)
{
    /// <summary>The event's data: what the page needs to patch or add a row, the amount already in the currency's exponent.</summary>
    public string ToJson() => JsonSerializer.Serialize(new StreamPayment(PaymentId, EventType, BuyerId, Status,
        Html.Amount(AmountMinor, Currency), AmountMinor, Currency, CapturedMinor, RefundedMinor, Version, Html.Time(OccurredAt)),
        StreamJson.Default.StreamPayment);
}

public sealed record StreamPayment(Guid PaymentId, string EventType, string BuyerId, string Status, string Amount, long AmountMinor,
    string Currency, long AmountCapturedMinor, long AmountRefundedMinor, int Version, string OccurredAt);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(StreamPayment))]
internal sealed partial class StreamJson : JsonSerializerContext;

/// <summary>Reads a merchant's stream log: the position a page starts from, and the rows after a position, in order.</summary>
public static class StreamLog
{
    /// <summary>The merchant's newest stream number (0: none yet); read before a page's rows, so the stream misses nothing.</summary>
    public static async Task<long> PositionAsync(NpgsqlDataSource database, string merchantId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT last_seq FROM dashboard_streams WHERE merchant_id = @merchant_id");
        command.Parameters.AddWithValue("merchant_id", merchantId);
        return await command.ExecuteScalarAsync(cancellationToken) is long seq ? seq : 0;
    }

    /// <summary>
    /// Whether a stream may resume after <paramref name="after"/>: false when rows after it were deleted by retention
    /// (the stream would have a gap, so the page reloads instead).
    /// </summary>
    public static async Task<bool> CanResumeAsync(NpgsqlDataSource database, string merchantId, long after, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "SELECT pruned_through FROM dashboard_streams WHERE merchant_id = @merchant_id");
        command.Parameters.AddWithValue("merchant_id", merchantId);
        return await command.ExecuteScalarAsync(cancellationToken) is not long pruned || after >= pruned;
    }

    public static async Task<List<StreamRow>> ReadAfterAsync(NpgsqlDataSource database, string merchantId, long after, int limit,
        CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT seq, payment_id, event_type, buyer_id, status, amount_minor, currency, amount_captured_minor,
                   amount_refunded_minor, payment_version, occurred_at
            FROM dashboard_updates WHERE merchant_id = @merchant_id AND seq > @after ORDER BY seq LIMIT @limit
            """);
        command.Parameters.AddWithValue("merchant_id", merchantId);
        command.Parameters.AddWithValue("after", after);
        command.Parameters.AddWithValue("limit", limit);
        var rows = new List<StreamRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(new StreamRow(reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetInt64(5), reader.GetString(6), reader.GetInt64(7), reader.GetInt64(8), reader.GetInt32(9),
                reader.GetFieldValue<DateTimeOffset>(10)));
        return rows;
    }
}

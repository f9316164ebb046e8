using Npgsql;
using Payrail.Outbox;

namespace Payrail.Consumers.Loyalty;

/// <summary>
/// <c>loyalty</c>: a completed payment earns its buyer points (<c>Consumers:Loyalty:PointsPerUnit</c>), a refund takes
/// back the refunded share. Each is a balanced posting of two append-only rows: the buyer's account and the programme's
/// (whose balance is minus all points outstanding), checked at commit by the database.
/// </summary>
public sealed class LoyaltyHandler(ConsumersOptions options) : IEventHandler
{
    public const string ConsumerName = "loyalty";
    public const string ProgrammeAccount = "programme";

    private readonly LoyaltyOptions _options = options.Loyalty;

    public string Name => ConsumerName;

    public static string BuyerAccount(string buyerId) => "buyer:" + buyerId;

    public bool Handles(string type) => type is EventTypes.PaymentCompleted or EventTypes.PaymentRefunded;

    public async Task ApplyAsync(NpgsqlTransaction transaction, OutboxEvent e, CancellationToken cancellationToken)
    {
        var p = e.Payment;
        long points;
        string kind;
        if (e.Type == EventTypes.PaymentCompleted)
        {
            kind = "earn";
            points = _options.PointsPerUnit.TryGetValue(p.Currency, out var rate) ? LoyaltyPoints.Earned(p.AmountCapturedMinor, p.Currency, rate) : 0;
        }
        else
        {
            kind = "reverse";
            var (earned, reversed) = await EarnedAndReversedAsync(transaction, e.PaymentId, p.BuyerId, cancellationToken);
            points = -LoyaltyPoints.ToReverse(earned, reversed, p.AmountRefundedMinor, p.AmountCapturedMinor);
        }
        if (points == 0) return;
        await using var command = new NpgsqlCommand("""
            INSERT INTO loyalty_entries (posting_id, account, buyer_id, payment_id, event_id, kind, points)
            VALUES (@posting_id, @buyer_account, @buyer_id, @payment_id, @event_id, @kind, @points),
                   (@posting_id, @programme, @buyer_id, @payment_id, @event_id, @kind, -@points)
            """, transaction.Connection, transaction);
        command.Parameters.AddWithValue("posting_id", MinorUnits.DerivedId(e.Id, "loyalty"));
        command.Parameters.AddWithValue("buyer_account", BuyerAccount(p.BuyerId));
        command.Parameters.AddWithValue("programme", ProgrammeAccount);
        command.Parameters.AddWithValue("buyer_id", p.BuyerId);
        command.Parameters.AddWithValue("payment_id", e.PaymentId);
        command.Parameters.AddWithValue("event_id", e.Id);
        command.Parameters.AddWithValue("kind", kind);
        command.Parameters.AddWithValue("points", points);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<(long Earned, long Reversed)> EarnedAndReversedAsync(NpgsqlTransaction transaction, Guid paymentId,
        string buyerId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT coalesce(sum(points) FILTER (WHERE kind = 'earn'), 0), coalesce(-sum(points) FILTER (WHERE kind = 'reverse'), 0)
            FROM loyalty_entries WHERE payment_id = @payment_id AND account = @account
            """, transaction.Connection, transaction);
        command.Parameters.AddWithValue("payment_id", paymentId);
        command.Parameters.AddWithValue("account", BuyerAccount(buyerId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }
}

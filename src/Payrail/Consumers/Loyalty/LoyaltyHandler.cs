using Npgsql;
using NpgsqlTypes;
using Payrail.Outbox;

namespace Payrail.Consumers.Loyalty;

/// <summary>
/// <c>loyalty</c>: a completed payment earns its buyer points (<c>Consumers:Loyalty:PointsPerUnit</c>), a refund takes
/// back the refunded share, a refund reversed after it succeeded gives that share back (kind <c>reinstate</c>, migration
/// 0022). Each is a balanced posting of two append-only rows: the buyer's account and the programme's
/// (whose balance is minus all points outstanding), checked at commit by the database.
/// </summary>
public sealed class LoyaltyHandler(ConsumersOptions options) : IEventHandler
{
    public const string ConsumerName = "loyalty";
    public const string ProgrammeAccount = "programme";

    private readonly LoyaltyOptions _options = options.Loyalty;

    public string Name => ConsumerName;

    public static string BuyerAccount(string buyerId) => "buyer:" + buyerId;

    public bool Handles(string type) => type is EventTypes.PaymentCompleted or EventTypes.PaymentRefunded or EventTypes.PaymentRefundReversed;

    /// <summary>
    /// Computes every posting in order in memory (a refund's reversal sees the points earned and reversed before it,
    /// those of this batch included), then writes them in one statement.
    /// </summary>
    public async Task ApplyAsync(NpgsqlTransaction transaction, IReadOnlyList<OutboxEvent> events, CancellationToken cancellationToken)
    {
        var refunded = events.Where(e => e.Type is EventTypes.PaymentRefunded or EventTypes.PaymentRefundReversed)
            .Select(e => e.PaymentId).Distinct().ToArray();
        var tally = refunded.Length == 0 ? [] : await EarnedAndReversedAsync(transaction, refunded, cancellationToken);
        var postings = new List<(OutboxEvent Event, string Kind, long Points)>();
        foreach (var e in events)
        {
            var p = e.Payment;
            var key = (e.PaymentId, BuyerAccount(p.BuyerId));
            var (earned, reversed) = tally.GetValueOrDefault(key);
            long points;
            string kind;
            if (e.Type == EventTypes.PaymentCompleted)
            {
                kind = "earn";
                points = _options.PointsPerUnit.TryGetValue(p.Currency, out var rate) ? LoyaltyPoints.Earned(p.AmountCapturedMinor, p.Currency, rate) : 0;
                earned += points;
            }
            else if (e.Type == EventTypes.PaymentRefundReversed)
            {
                kind = "reinstate";
                var reinstate = LoyaltyPoints.ToReinstate(earned, reversed, p.AmountRefundedMinor, p.AmountCapturedMinor);
                reversed -= reinstate;
                points = reinstate;
            }
            else
            {
                kind = "reverse";
                var reverse = LoyaltyPoints.ToReverse(earned, reversed, p.AmountRefundedMinor, p.AmountCapturedMinor);
                reversed += reverse;
                points = -reverse;
            }
            tally[key] = (earned, reversed);
            if (points != 0) postings.Add((e, kind, points));
        }
        if (postings.Count > 0) await PostAsync(transaction, postings, cancellationToken);
    }

    private static async Task PostAsync(NpgsqlTransaction transaction, List<(OutboxEvent Event, string Kind, long Points)> postings,
        CancellationToken cancellationToken)
    {
        // Each posting is two rows, the buyer's and the programme's, summing to zero (checked at commit).
        var rows = postings.SelectMany(x => new[]
        {
            (x.Event, Account: BuyerAccount(x.Event.Payment.BuyerId), x.Kind, x.Points),
            (x.Event, Account: ProgrammeAccount, x.Kind, Points: -x.Points),
        }).ToList();
        await using var command = new NpgsqlCommand("""
            INSERT INTO loyalty_entries (posting_id, account, buyer_id, payment_id, event_id, kind, points)
            SELECT r.posting_id, r.account, r.buyer_id, r.payment_id, r.event_id, r.kind, r.points
            FROM unnest(@posting_ids, @accounts, @buyer_ids, @payment_ids, @event_ids, @kinds, @points) WITH ORDINALITY
                AS r(posting_id, account, buyer_id, payment_id, event_id, kind, points, n)
            ORDER BY r.n
            """, transaction.Connection, transaction);
        Add(command, "posting_ids", NpgsqlDbType.Uuid, rows.Select(r => MinorUnits.DerivedId(r.Event.Id, "loyalty")));
        Add(command, "accounts", NpgsqlDbType.Text, rows.Select(r => r.Account));
        Add(command, "buyer_ids", NpgsqlDbType.Text, rows.Select(r => r.Event.Payment.BuyerId));
        Add(command, "payment_ids", NpgsqlDbType.Uuid, rows.Select(r => r.Event.PaymentId));
        Add(command, "event_ids", NpgsqlDbType.Uuid, rows.Select(r => r.Event.Id));
        Add(command, "kinds", NpgsqlDbType.Text, rows.Select(r => r.Kind));
        Add(command, "points", NpgsqlDbType.Bigint, rows.Select(r => r.Points));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Points earned and reversed so far per (payment, buyer account), for the payments given.</summary>
    private static async Task<Dictionary<(Guid, string), (long Earned, long Reversed)>> EarnedAndReversedAsync(NpgsqlTransaction transaction,
        Guid[] paymentIds, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT payment_id, account,
                   coalesce(sum(points) FILTER (WHERE kind = 'earn'), 0),
                   coalesce(-sum(points) FILTER (WHERE kind IN ('reverse', 'reinstate')), 0)
            FROM loyalty_entries WHERE payment_id = ANY(@payment_ids) AND account <> @programme
            GROUP BY payment_id, account
            """, transaction.Connection, transaction);
        command.Parameters.AddWithValue("payment_ids", paymentIds);
        command.Parameters.AddWithValue("programme", ProgrammeAccount);
        var tally = new Dictionary<(Guid, string), (long, long)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            tally[(reader.GetGuid(0), reader.GetString(1))] = (reader.GetInt64(2), reader.GetInt64(3));
        return tally;
    }

    private static void Add<T>(NpgsqlCommand command, string name, NpgsqlDbType type, IEnumerable<T> values) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | type) { Value = values.ToArray() });
}

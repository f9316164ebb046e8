using Npgsql;
using NpgsqlTypes;
using Payrail.Outbox;

namespace Payrail.Consumers.Notifications;

/// <summary>
/// <c>notifications</c>: a buyer and a merchant message for completed, failed and refunded payments, an ops message per
/// reconciliation alert (with or without a payment), rendered from
/// <see cref="NotificationTemplates"/>, stored with the event's inbox row, then handed to the sender after the commit.
/// </summary>
public sealed class NotificationsHandler(NpgsqlDataSource database, INotificationSender sender, TimeProvider clock) : IEventHandler
{
    public const string ConsumerName = "notifications";

    public string Name => ConsumerName;

    public bool Handles(string type) => NotificationTemplates.Covers(type);

    public async Task ApplyAsync(NpgsqlTransaction transaction, IReadOnlyList<OutboxEvent> events, CancellationToken cancellationToken)
    {
        var messages = events.SelectMany(NotificationTemplates.Render).ToList();
        if (messages.Count == 0) return;
        await using var command = new NpgsqlCommand("""
            INSERT INTO notifications (id, event_id, payment_id, audience, recipient, template, subject, body, created_at)
            SELECT m.id, m.event_id, m.payment_id, m.audience, m.recipient, m.template, m.subject, m.body, @now
            FROM unnest(@ids, @event_ids, @payment_ids, @audiences, @recipients, @templates, @subjects, @bodies)
                AS m(id, event_id, payment_id, audience, recipient, template, subject, body)
            ON CONFLICT DO NOTHING
            """, transaction.Connection, transaction);
        command.Parameters.AddWithValue("now", clock.GetUtcNow());
        Add(command, "ids", NpgsqlDbType.Uuid, messages.Select(m => m.Id));
        Add(command, "event_ids", NpgsqlDbType.Uuid, messages.Select(m => m.EventId));
        Add(command, "payment_ids", NpgsqlDbType.Uuid, messages.Select(m => m.PaymentId));
        Add(command, "audiences", NpgsqlDbType.Text, messages.Select(m => m.Audience));
        Add(command, "recipients", NpgsqlDbType.Text, messages.Select(m => m.Recipient));
        Add(command, "templates", NpgsqlDbType.Text, messages.Select(m => m.Template));
        Add(command, "subjects", NpgsqlDbType.Text, messages.Select(m => m.Subject));
        Add(command, "bodies", NpgsqlDbType.Text, messages.Select(m => m.Body));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Sends the events' messages not yet marked sent, then marks them (one statement): a crash in between sends again,
    /// idempotently (the sender keys on the message id).
    /// </summary>
    public async Task AfterCommitAsync(IReadOnlyList<CommittedEvent> events, CancellationToken cancellationToken)
    {
        var unsent = new List<NotificationMessage>();
        await using (var select = database.CreateCommand("""
            SELECT id, event_id, payment_id, audience, recipient, template, subject, body
            FROM notifications WHERE event_id = ANY(@event_ids) AND sent_at IS NULL ORDER BY created_at, id
            """))
        {
            Add(select, "event_ids", NpgsqlDbType.Uuid, events.Select(c => c.Event.Id));
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                unsent.Add(new NotificationMessage(reader.GetGuid(0), reader.GetGuid(1), reader.IsDBNull(2) ? null : reader.GetGuid(2), reader.GetString(3),
                    reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7)));
        }
        if (unsent.Count == 0) return;
        foreach (var message in unsent) await sender.SendAsync(message, cancellationToken);
        await using var mark = database.CreateCommand("UPDATE notifications SET sent_at = @now WHERE id = ANY(@ids) AND sent_at IS NULL");
        Add(mark, "ids", NpgsqlDbType.Uuid, unsent.Select(m => m.Id));
        mark.Parameters.AddWithValue("now", clock.GetUtcNow());
        await mark.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Add<T>(NpgsqlCommand command, string name, NpgsqlDbType type, IEnumerable<T> values) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | type) { Value = values.ToArray() });
}

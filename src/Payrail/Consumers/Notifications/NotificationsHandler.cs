using Npgsql;
using NpgsqlTypes;
using Payrail.Outbox;

namespace Payrail.Consumers.Notifications;

/// <summary>
/// <c>notifications</c>: a buyer and a merchant message for completed, failed and refunded payments, rendered from
/// <see cref="NotificationTemplates"/>, stored with the event's inbox row, then handed to the sender after the commit.
/// </summary>
public sealed class NotificationsHandler(NpgsqlDataSource database, INotificationSender sender, TimeProvider clock) : IEventHandler
{
    public const string ConsumerName = "notifications";

    public string Name => ConsumerName;

    public bool Handles(string type) => NotificationTemplates.Covers(type);

    public async Task ApplyAsync(NpgsqlTransaction transaction, OutboxEvent e, CancellationToken cancellationToken)
    {
        var messages = NotificationTemplates.Render(e);
        await using var command = new NpgsqlCommand("""
            INSERT INTO notifications (id, event_id, payment_id, audience, recipient, template, subject, body, created_at)
            SELECT m.id, @event_id, @payment_id, m.audience, m.recipient, m.template, m.subject, m.body, @now
            FROM unnest(@ids, @audiences, @recipients, @templates, @subjects, @bodies)
                AS m(id, audience, recipient, template, subject, body)
            ON CONFLICT DO NOTHING
            """, transaction.Connection, transaction);
        command.Parameters.AddWithValue("event_id", e.Id);
        command.Parameters.AddWithValue("payment_id", e.PaymentId);
        command.Parameters.AddWithValue("now", clock.GetUtcNow());
        command.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = messages.Select(m => m.Id).ToArray() });
        Add(command, "audiences", messages.Select(m => m.Audience));
        Add(command, "recipients", messages.Select(m => m.Recipient));
        Add(command, "templates", messages.Select(m => m.Template));
        Add(command, "subjects", messages.Select(m => m.Subject));
        Add(command, "bodies", messages.Select(m => m.Body));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Sends the event's messages not yet marked sent, then marks them: a crash in between sends again (idempotently).</summary>
    public async Task AfterCommitAsync(OutboxEvent e, bool redelivered, CancellationToken cancellationToken)
    {
        var unsent = new List<NotificationMessage>();
        await using (var select = database.CreateCommand("""
            SELECT id, audience, recipient, template, subject, body FROM notifications WHERE event_id = @event_id AND sent_at IS NULL
            """))
        {
            select.Parameters.AddWithValue("event_id", e.Id);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                unsent.Add(new NotificationMessage(reader.GetGuid(0), e.Id, e.PaymentId, reader.GetString(1), reader.GetString(2),
                    reader.GetString(3), reader.GetString(4), reader.GetString(5)));
        }
        foreach (var message in unsent)
        {
            await sender.SendAsync(message, cancellationToken);
            await using var mark = database.CreateCommand("UPDATE notifications SET sent_at = @now WHERE id = @id AND sent_at IS NULL");
            mark.Parameters.AddWithValue("id", message.Id);
            mark.Parameters.AddWithValue("now", clock.GetUtcNow());
            await mark.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static void Add(NpgsqlCommand command, string name, IEnumerable<string> values) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = values.ToArray() });
}

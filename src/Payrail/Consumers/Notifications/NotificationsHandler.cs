using Npgsql;
using NpgsqlTypes;
using Payrail.Outbox;

namespace Payrail.Consumers.Notifications;

/// <summary>
/// <c>notifications</c>: a buyer and a merchant message for completed, failed and refunded payments, an ops message per
/// reconciliation alert (with or without a payment), rendered from <see cref="NotificationTemplates"/>, stored with the
/// event's inbox row (the effect), then handed to the sender from the table by <see cref="NotificationDispatch"/>, which
/// <paramref name="wakeDispatch"/> wakes after each commit.
/// </summary>
public sealed class NotificationsHandler(Action wakeDispatch, TimeProvider clock) : IEventHandler
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
    /// Sending is not the loop's work: <see cref="NotificationDispatch"/> sends what the table holds unsent, so a batch
    /// never waits for its files. This only wakes it (a redelivery too: a killed dispatcher's messages go out sooner).
    /// </summary>
    public Task AfterCommitAsync(IReadOnlyList<CommittedEvent> events, CancellationToken cancellationToken)
    {
        wakeDispatch();
        return Task.CompletedTask;
    }

    private static void Add<T>(NpgsqlCommand command, string name, NpgsqlDbType type, IEnumerable<T> values) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | type) { Value = values.ToArray() });
}

using Npgsql;
using Payrail.Outbox;

namespace Payrail.Consumers;

/// <summary>
/// One consumer of <c>payments.v1</c>: a small class with its own tables, run by a <see cref="ConsumerLoop"/> in its own
/// consumer group. The loop owns the exactly-once part (inbox row, transaction, offset); a handler only says what an
/// event changes.
/// </summary>
public interface IEventHandler
{
    /// <summary>Its name: the inbox's <c>consumer</c> column, the metrics' tag and (by default) its consumer group.</summary>
    string Name { get; }

    /// <summary>The consumer group (one per handler; the dashboard may have one per instance).</summary>
    string GroupId => Name;

    /// <summary>Whether this handler does anything with events of <paramref name="type"/>; others are stored past at once.</summary>
    bool Handles(string type);

    /// <summary>
    /// Writes the event's effect with <paramref name="transaction"/>; the loop commits it together with the inbox row.
    /// Runs at most once per event and consumer (the inbox row is claimed first, in the same transaction).
    /// </summary>
    Task ApplyAsync(NpgsqlTransaction transaction, OutboxEvent e, CancellationToken cancellationToken);

    /// <summary>
    /// What happens outside the database after the commit (a file, an in-process fan-out). Runs after the first commit
    /// and again on every redelivery (<paramref name="redelivered"/>), before the offset is stored: so it must be
    /// idempotent, and a crash between commit and effect is repaired by the redelivery instead of losing the effect.
    /// </summary>
    Task AfterCommitAsync(OutboxEvent e, bool redelivered, CancellationToken cancellationToken) => Task.CompletedTask;
}

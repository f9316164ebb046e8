using Npgsql;
using Payrail.Outbox;

namespace Payrail.Consumers;

/// <summary>
/// One consumer of <c>payments.v1</c>: a small class with its own tables, run by a <see cref="ConsumerLoop"/> in its own
/// consumer group. The loop owns the exactly-once part (inbox rows, transaction, offsets); a handler only says what
/// events change. The loop hands it a batch (up to <c>Consumers:MaxBatchMessages</c>, one transaction): a handler writes
/// what the events would have written one by one, in their order, in as few statements as it can.
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
    /// Writes the effects of <paramref name="events"/> with <paramref name="transaction"/>; the loop commits them together
    /// with their inbox rows. Each event is distinct and runs at most once per consumer (its inbox row is claimed first,
    /// in the same transaction); <paramref name="events"/> keeps the topic's order, so one payment's events are in order.
    /// The result must be what applying them one at a time in that order would have written.
    /// </summary>
    Task ApplyAsync(NpgsqlTransaction transaction, IReadOnlyList<OutboxEvent> events, CancellationToken cancellationToken);

    /// <summary>
    /// What happens outside the database after the commit (a file, an in-process fan-out). Runs after the first commit
    /// and again on every redelivery (<see cref="CommittedEvent.Redelivered"/>), before the offsets are stored: so it must
    /// be idempotent, and a crash between commit and effect is repaired by the redelivery instead of losing the effect.
    /// </summary>
    Task AfterCommitAsync(IReadOnlyList<CommittedEvent> events, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Called by the loop after every poll (<paramref name="final"/> false) and once when it stops cleanly (true): a
    /// handler that defers an after-commit effect to bound its rate (the settlement file) finishes it here.
    /// </summary>
    Task FlushAsync(bool final, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>An event whose transaction committed: applied by it, or found in the inbox already (a redelivery).</summary>
public sealed record CommittedEvent(OutboxEvent Event, bool Redelivered);

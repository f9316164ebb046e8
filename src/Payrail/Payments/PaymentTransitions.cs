using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Domain.Payments;
using Payrail.Domain.Refunds;
using Payrail.Ledger;

namespace Payrail.Payments;

/// <summary>
/// Something that must commit with a payment's change or not at all: an idempotency key's completion, a webhook's event
/// id, a refund row, a reconciliation item. It adds its statements to the change's batch, after the version guard, so a
/// moved version or a failed statement rolls it back with the change.
/// </summary>
public interface ITransitionCommand
{
    /// <param name="batch">The change's batch (one implicit transaction).</param>
    /// <param name="payment">The payment as it is once the batch commits.</param>
    void AddTo(NpgsqlBatch batch, PaymentRecord payment);

    /// <summary>
    /// What the store calls: as <see cref="AddTo(NpgsqlBatch, PaymentRecord)"/>, told whether this batch changes the
    /// payment (<paramref name="change"/>) or commits against it as it stands (null), e.g. to record which it was.
    /// </summary>
    void AddTo(NpgsqlBatch batch, PaymentRecord payment, PaymentChange? change) => AddTo(batch, payment);
}

/// <summary>What an attempt to move a payment came to. Only <see cref="Applied"/> and the no-op outcomes wrote anything.</summary>
public enum TransitionResultKind
{
    /// <summary>The change and its commands committed.</summary>
    Applied,

    /// <summary>The payment already is where the event leads; the commands (if any) committed against it as it stands.</summary>
    AlreadyApplied,

    /// <summary>The payment is past the event (a late webhook); the commands (if any) committed against it as it stands.</summary>
    Stale,

    /// <summary>The state machine refuses the event (a terminal state, an invalid transition): nothing was written.</summary>
    Refused,

    /// <summary>The payment kept changing under us for every re-read allowed: nothing was written.</summary>
    GaveUp,

    /// <summary>No payment has this id: nothing was written.</summary>
    NotFound,
}

/// <summary>The outcome and the payment as it stands after it (as last read when nothing was written).</summary>
public sealed record TransitionResult(TransitionResultKind Kind, PaymentRecord? Payment, TransitionRejection? Rejection = null)
{
    public bool Committed => Kind is TransitionResultKind.Applied or TransitionResultKind.AlreadyApplied or TransitionResultKind.Stale;
}

/// <summary>An event for the state machine and the facts the row records, from whom (<c>psp</c>) and why (<c>cause</c>).</summary>
public sealed record PaymentTransition(PspOutcome Outcome, string Psp, string Cause)
{
    /// <summary>
    /// A refund's move instead of a PSP event about the payment (<see cref="PaymentChange.PlanRefund"/>): the payment's
    /// refund amounts change, and its status only when the last amount is refunded (or a refund of it fails afterwards).
    /// </summary>
    public RefundChange? Refund { get; init; }

    public static PaymentTransition Of(RefundChange refund, string psp, string cause) =>
        new(PspOutcome.Unknown, psp, cause) { Refund = refund };
}

/// <summary>What one refund's change does to its payment: the move and the refund's amount.</summary>
/// <summary>
/// A refund's move on its payment; <paramref name="Backing"/> when the refund is held in the settlement currency
/// (a strict merchant's refund after its payment was settled in another currency: LedgerPostingRules.RefundFxEstimate).
/// </summary>
public sealed record RefundChange(Guid RefundId, Payrail.Domain.Refunds.RefundMove Move, long AmountMinor,
    Payrail.Domain.Ledger.RefundFxBacking? Backing = null);

/// <summary>
/// The one path by which a payment changes (CONVENTIONS.md "A state change"): plan with the pure domain
/// (<see cref="PaymentChange.Plan"/>), write one version-checked batch — transitions, outbox, the caller's commands,
/// ledger — and when the version moved, re-read and re-plan at most <see cref="PaymentsOptions.MaxVersionRetries"/>
/// times. A stale, repeated or refused event is an outcome, never an exception; an exception means the outcome is unknown
/// (the database failed beyond its transient retries).
/// </summary>
public sealed class PaymentTransitions(PaymentStore store, IOptions<PaymentsOptions> options, TimeProvider clock)
{
    private readonly int _maxVersionRetries = options.Value.MaxVersionRetries;

    /// <summary>Reads the payment, then as <see cref="ApplyAsync(PaymentRecord, PaymentTransition, IReadOnlyList{ITransitionCommand})"/>.</summary>
    public async Task<TransitionResult> ApplyAsync(Guid paymentId, PaymentTransition transition, IReadOnlyList<ITransitionCommand> with)
    {
        var current = await store.FindAsync(paymentId).ConfigureAwait(false);
        return current is null
            ? new TransitionResult(TransitionResultKind.NotFound, null)
            : await RunAsync(current, transition, with).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves <paramref name="current"/> (as last read; re-read only if it moved) by the event, with the commands in the
    /// same transaction. A no-op event (already applied, stale) still commits the commands, against the payment as it
    /// stands; a refused one commits nothing.
    /// </summary>
    public Task<TransitionResult> ApplyAsync(PaymentRecord current, PaymentTransition transition, IReadOnlyList<ITransitionCommand> with) =>
        RunAsync(current, transition, with);

    /// <summary>Commits the commands against the payment as it stands (no event), re-reading it if it moved meanwhile.</summary>
    public Task<TransitionResult> RecordAsync(PaymentRecord current, IReadOnlyList<ITransitionCommand> with) =>
        RunAsync(current, null, with);

    /// <summary>
    /// Several payments moved by their events in one transaction (<see cref="PaymentStore.ApplyAllAsync"/>), each planned
    /// as <see cref="ApplyAsync(PaymentRecord, PaymentTransition, IReadOnlyList{ITransitionCommand})"/> plans it against
    /// the payment as last read. All or nothing: null when any event changes nothing (a no-op or a refusal), any version
    /// moved, or the database refused the batch; then nothing was written and the caller applies them one by one.
    /// </summary>
    public async Task<IReadOnlyList<TransitionResult>?> ApplyAllAsync(
        IReadOnlyList<(PaymentRecord Current, PaymentTransition Transition, IReadOnlyList<ITransitionCommand> With)> moves)
    {
        var now = PaymentRecord.ToDatabasePrecision(clock.GetUtcNow());
        var changes = new List<(PaymentChange, IReadOnlyList<ITransitionCommand>)>(moves.Count);
        foreach (var (current, transition, with) in moves)
        {
            if (transition.Refund is not null) throw new ArgumentException("a refund's move goes through ApplyAsync", nameof(moves));
            if (PaymentChange.Plan(current, transition.Outcome, transition.Psp, transition.Cause, now) is not { } change) return null;
            changes.Add((change, with));
        }
        try
        {
            if (!await store.ApplyAllAsync(changes).ConfigureAwait(false)) return null;
        }
        catch (PostgresException)
        {
            return null; // rolled back whole (a flag, a conflict, a transient failure): the one-by-one path decides each
        }
        return changes.Select(c => new TransitionResult(TransitionResultKind.Applied, c.Item1.After)).ToList();
    }

    private async Task<TransitionResult> RunAsync(PaymentRecord current, PaymentTransition? transition, IReadOnlyList<ITransitionCommand> with)
    {
        for (var attempt = 0; attempt <= _maxVersionRetries; attempt++)
        {
            if (attempt > 0)
            {
                current = await store.FindAsync(current.Id).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"payment {current.Id} disappeared");
            }
            var now = PaymentRecord.ToDatabasePrecision(clock.GetUtcNow());
            var change = transition switch
            {
                null => null,
                { Refund: { } refund } => PaymentChange.PlanRefund(current, refund, transition.Cause, now),
                _ => PaymentChange.Plan(current, transition.Outcome, transition.Psp, transition.Cause, now),
            };
            if (change is not null)
            {
                if (transition?.Refund is { Move: RefundMove.Reserve })
                {
                    if (await ReserveRefundAsync(change, with).ConfigureAwait(false) is { } reserved) return reserved;
                    continue;
                }
                if (await store.ApplyAsync(change, with).ConfigureAwait(false))
                    return new TransitionResult(TransitionResultKind.Applied, change.After);
                continue;
            }
            var unchanged = Unchanged(current, transition);
            if (unchanged.Kind == TransitionResultKind.Refused) return unchanged;
            if (with.Count == 0 || await store.RecordUnchangedAsync(current, with).ConfigureAwait(false)) return unchanged;
        }
        return new TransitionResult(TransitionResultKind.GaveUp, current);
    }

    /// <summary>
    /// A refund's reservation with its ledger hold (<see cref="PaymentChange.PlanRefund"/>): the merchant account's flag
    /// refusing the hold (PR004, the whole batch rolled back) is the answer "the merchant's payable cannot take it", decided
    /// under the account row's lock, so refunds of one merchant racing for the last of its payable cannot both pass. Only
    /// the merchant's side can refuse: the buyer is credited at most what its payment's reservation allows. Null when the
    /// version moved (re-read and re-plan).
    /// </summary>
    private async Task<TransitionResult?> ReserveRefundAsync(PaymentChange change, IReadOnlyList<ITransitionCommand> with)
    {
        try
        {
            if (!await store.ApplyAsync(change, with).ConfigureAwait(false)) return null;
            return new TransitionResult(TransitionResultKind.Applied, change.After);
        }
        catch (PostgresException e) when (e.SqlState == LedgerSqlState.BalanceLimitExceeded)
        {
            return new TransitionResult(TransitionResultKind.Refused, change.Before,
                new TransitionRejection(PaymentRefunds.ExceedsPayableCode, "The merchant's payable balance cannot hold the refund."));
        }
    }

    /// <summary>Why the state machine changes nothing (<see cref="PaymentChange.Plan"/> returned null): a no-op or a refusal.</summary>
    private static TransitionResult Unchanged(PaymentRecord current, PaymentTransition? transition)
    {
        if (transition is null) return new TransitionResult(TransitionResultKind.AlreadyApplied, current);
        // Every accepted refund move changes the amounts: no plan is a refusal (nothing written, not even the commands).
        if (transition.Refund is { } refund)
            return new TransitionResult(TransitionResultKind.Refused, current,
                PaymentRefunds.Apply(current.RefundBalance, refund.Move, refund.AmountMinor).Rejection);
        var machine = PaymentStateMachine.Apply(current.Status, transition.Outcome.Event);
        return machine.Outcome switch
        {
            TransitionOutcome.AlreadyApplied => new TransitionResult(TransitionResultKind.AlreadyApplied, current),
            TransitionOutcome.Stale => new TransitionResult(TransitionResultKind.Stale, current),
            _ => new TransitionResult(TransitionResultKind.Refused, current, machine.Rejection),
        };
    }
}

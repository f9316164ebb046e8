using Npgsql;
using Payrail.Payments;

namespace Payrail.Idempotency;

/// <summary>
/// The answer an operation under the gate gives. Final: PostgreSQL holds it as the key's completed response (written in
/// the operation's own transaction), so the gate caches it in Redis and every retry replays it. Not final (an unknown PSP
/// outcome): the key stays processing and a retry after the lease takes over.
/// </summary>
public sealed record IdempotentAnswer(int Status, string Body, bool Final);

/// <summary>
/// Completes a processing key in the batch of the payment change it answers (DESIGN.md step 6): the answer and the change
/// commit together or not at all. The answer is made from the payment as that batch leaves it.
/// Its retention runs from now (<paramref name="ExpiresAt"/> = completion + retention).
/// </summary>
public sealed record CompleteIdempotencyKey(IdempotencyKey Key, Func<PaymentRecord, IdempotentAnswer> AnswerFor, DateTimeOffset ExpiresAt)
    : ITransitionCommand
{
    public void AddTo(NpgsqlBatch batch, PaymentRecord payment)
    {
        var answer = AnswerFor(payment);
        var complete = new NpgsqlBatchCommand(IdempotencyStore.CompleteKeySql);
        IdempotencyStore.AddCompleteKeyParameters(complete.Parameters, Key, answer.Status, answer.Body, ExpiresAt);
        batch.BatchCommands.Add(complete);
    }
}

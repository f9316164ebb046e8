using Payrail.Outbox;

namespace Payrail.Consumers;

/// <summary>The places in <see cref="ConsumerLoop"/> where a test may kill a consumer (CrashWindowTests' model).</summary>
public enum ConsumerStage
{
    /// <summary>Inside the handler's transaction, effect written, not yet committed.</summary>
    BeforeCommit,

    /// <summary>Effect and inbox row committed, offset not yet stored.</summary>
    AfterCommit,

    /// <summary>Before the handler runs (a test's poison message throws here on every attempt).</summary>
    Handling,
}

/// <summary>Thrown at a crash point: the loop dies on the spot, as if the process were killed (see <see cref="ConsumerLoop"/>).</summary>
public sealed class SimulatedConsumerCrash() : Exception("simulated consumer crash");

/// <summary>
/// Crash points of the consumer loop. Production registers none (<see cref="At"/> does nothing); tests register an
/// action that throws <see cref="SimulatedConsumerCrash"/> to kill a loop, or another exception to fail an attempt.
/// </summary>
public sealed class ConsumerCrashPoints
{
    private volatile Action<string, ConsumerStage, OutboxEvent>? _action;

    public void Set(Action<string, ConsumerStage, OutboxEvent>? action) => _action = action;

    public void At(string consumer, ConsumerStage stage, OutboxEvent e) => _action?.Invoke(consumer, stage, e);
}

namespace PspSim.Webhooks;

public static class DeliveryFaultModes
{
    /// <summary>The delivery goes out `copies` times (each a delivery of its own, signed afresh, retried on failure).</summary>
    public const string Duplicate = "duplicate";
    /// <summary>
    /// The delivery is held; once `release_after` later deliveries have been attempted (or `max_hold_ms` passed), the
    /// held ones go out, newest first.
    /// </summary>
    public const string Reorder = "reorder";
    /// <summary>The delivery waits `delay_ms` before its first attempt.</summary>
    public const string Delay = "delay";
    /// <summary>The delivery never happens (no attempt, no retry); recorded as dropped, the event stays pending.</summary>
    public const string Drop = "drop";

    public static readonly IReadOnlySet<string> All = new HashSet<string> { Duplicate, Reorder, Delay, Drop };
}

/// <summary>
/// A delivery fault: fires on the first attempt of matching deliveries with a probability, for the next Count of them
/// (or until removed); <see cref="EventType"/> filters by type (a trailing * matches a prefix).
/// </summary>
public sealed record DeliveryFault(
    string Id, string Mode, double Probability, int? Remaining, string? EventType, int Copies, int DelayMs, int ReleaseAfter, int MaxHoldMs)
{
    public bool Matches(string eventType) => EventType is null
        || (EventType.EndsWith('*') ? eventType.StartsWith(EventType[..^1], StringComparison.Ordinal) : EventType == eventType);
}

/// <summary>Active delivery faults, checked in order (at most <see cref="MaxFaults"/>).</summary>
public sealed class DeliveryFaultBoard
{
    public const int MaxFaults = 100;
    public const int MaxCopies = 10;
    public const int MaxDelayMs = 600_000;
    public const int MaxReleaseAfter = 1_000;
    public const int MaxHoldMs = 600_000;
    public const int DefaultMaxHoldMs = 10_000;
    private readonly Lock _gate = new();
    private readonly List<DeliveryFault> _faults = [];
    private int _nextId;

    public DeliveryFault Add(string mode, double probability, int? count, string? eventType, int copies, int delayMs, int releaseAfter, int maxHoldMs)
    {
        lock (_gate)
        {
            if (_faults.Count >= MaxFaults) throw new InvalidOperationException($"at most {MaxFaults} delivery faults may be active");
            var fault = new DeliveryFault($"whfault_{++_nextId}", mode, probability, count, eventType, copies, delayMs, releaseAfter, maxHoldMs);
            _faults.Add(fault);
            return fault;
        }
    }

    public IReadOnlyList<DeliveryFault> Active()
    {
        lock (_gate) return _faults.ToList();
    }

    public void Reset()
    {
        lock (_gate) _faults.Clear();
    }

    /// <summary>The first active fault that matches and fires; consumes one of its count.</summary>
    public DeliveryFault? Match(string eventType)
    {
        lock (_gate)
        {
            for (var i = 0; i < _faults.Count; i++)
            {
                var f = _faults[i];
                if (!f.Matches(eventType)) continue;
                if (f.Probability < 1 && Random.Shared.NextDouble() >= f.Probability) continue;
                if (f.Remaining is { } n)
                {
                    if (n <= 1) _faults.RemoveAt(i);
                    else _faults[i] = f with { Remaining = n - 1 };
                }
                return f;
            }
            return null;
        }
    }
}

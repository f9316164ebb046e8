using PspSim.Storage;

namespace PspSim.Idempotency;

/// <summary>The first answer given under an idempotency key (status + exact body), kept 24 h.</summary>
public sealed class StoredResponse
{
    /// <summary>Hash of the API key: keys are scoped per API key, and the key itself is never stored.</summary>
    public required string Scope { get; init; }
    public required string Key { get; init; }
    public required string Fingerprint { get; init; }
    public required int Status { get; init; }
    [System.Text.Json.Serialization.JsonConverter(typeof(Storage.RawJsonConverter))]
    public required string Body { get; init; }
    public required long Created { get; init; }
    public string? RequestId { get; init; }
}

public abstract record Claim
{
    /// <summary>The key is ours: run the request, then <see cref="IdempotencyKeys.Complete"/> or <see cref="IdempotencyKeys.Release"/>.</summary>
    public sealed record Acquired : Claim;
    public sealed record Replay(StoredResponse Response) : Claim;
    public sealed record Mismatch : Claim;
    public sealed record InFlight : Claim;
}

/// <summary>
/// Stripe's idempotent requests: one in-flight request per (API key, idempotency key); later
/// requests replay the stored answer, or fail with idempotency_error if their parameters differ.
/// Bounded: entries expire after 24 h, and past <see cref="PspSimOptions.MaxStoredIdempotencyKeys"/> the oldest
/// answers are forgotten first (a sandbox cannot hold a day of answers at hundreds per second; Stripe can).
/// </summary>
public sealed class IdempotencyKeys(TimeProvider clock, int maxEntries)
{
    public const int MaxKeyLength = 255;
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    private readonly Lock _gate = new();
    private readonly Dictionary<(string Scope, string Key), StoredResponse?> _entries = [];
    // Completed keys in the order they were stored (≈ creation order): expiry pops from the front, O(1) per key.
    private readonly Queue<(string Scope, string Key, long Created)> _expiryOrder = new();
    private Journal? _journal;

    internal void AttachJournal(Journal journal) => _journal = journal;

    /// <summary>Answers forgotten to stay within the bound before they expired.</summary>
    public long Evicted { get; private set; }

    public int Count
    {
        get { lock (_gate) return _entries.Count; }
    }

    internal void Restore(StoredResponse response)
    {
        if (IsExpired(response)) return;
        _entries[(response.Scope, response.Key)] = response;
        _expiryOrder.Enqueue((response.Scope, response.Key, response.Created));
        // Restored oldest first: what a lower bound no longer allows goes now.
        if (_entries.Count > maxEntries) EvictOldest();
    }

    /// <summary>The stored answers, oldest first (what a snapshot keeps); serializable outside the lock, they never change.</summary>
    internal List<StoredResponse> Live()
    {
        lock (_gate)
        {
            var live = new List<StoredResponse>(_entries.Count);
            foreach (var (scope, key, created) in _expiryOrder)
                if (_entries.TryGetValue((scope, key), out var stored) && stored is not null && stored.Created == created && !IsExpired(stored))
                    live.Add(stored);
            return live;
        }
    }

    private bool IsExpired(StoredResponse r) =>
        r.Created + (long)Retention.TotalSeconds <= clock.GetUtcNow().ToUnixTimeSeconds();

    public Claim Claim(string scope, string key, string fingerprint)
    {
        lock (_gate)
        {
            PruneIfDue();
            if (_entries.TryGetValue((scope, key), out var existing))
            {
                if (existing is null) return new Claim.InFlight();
                if (!IsExpired(existing))
                    return existing.Fingerprint == fingerprint ? new Claim.Replay(existing) : new Claim.Mismatch();
            }
            if (_entries.Count >= maxEntries) EvictOldest();
            // Every entry is a request in flight: nothing can be forgotten.
            if (_entries.Count >= maxEntries) throw new InvalidOperationException("idempotency key store full");
            _entries[(scope, key)] = null;
            return new Claim.Acquired();
        }
    }

    public void Complete(StoredResponse response)
    {
        lock (_gate)
        {
            _entries[(response.Scope, response.Key)] = response;
            _expiryOrder.Enqueue((response.Scope, response.Key, response.Created));
            _journal?.Append("idem", response);
        }
        // Handed to the OS before the answer goes out, outside the key lock.
        _journal?.Flush();
    }

    /// <summary>The request was rejected before it ran: Stripe saves nothing, the key may be reused.</summary>
    public void Release(string scope, string key)
    {
        lock (_gate) _entries.Remove((scope, key));
    }

    /// <summary>Forgets the oldest completed answers until one more fits (in-flight keys are never forgotten).</summary>
    private void EvictOldest()
    {
        while (_entries.Count >= maxEntries && _expiryOrder.TryDequeue(out var head))
        {
            if (_entries.TryGetValue((head.Scope, head.Key), out var stored) && stored is not null && stored.Created == head.Created)
            {
                _entries.Remove((head.Scope, head.Key));
                Evicted++;
            }
        }
    }

    private void PruneIfDue()
    {
        var cutoff = clock.GetUtcNow().ToUnixTimeSeconds() - (long)Retention.TotalSeconds;
        for (var i = 0; i < 1_000 && _expiryOrder.TryPeek(out var head) && head.Created <= cutoff; i++)
        {
            _expiryOrder.Dequeue();
            // Only drop the entry if it is still the one queued (a key reused after expiry is newer).
            if (_entries.TryGetValue((head.Scope, head.Key), out var stored) && stored is not null && stored.Created == head.Created)
                _entries.Remove((head.Scope, head.Key));
        }
    }
}

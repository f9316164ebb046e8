namespace DevKafka.Broker;

/// <summary>
/// Caps the bytes of requests read but not yet answered, across all connections: when it is used up, readers
/// stop reading (TCP back-pressure) instead of the broker growing without bound. Waiters are served in order.
/// </summary>
internal sealed class ByteBudget(long capacity)
{
    private readonly long _capacity = capacity;
    private readonly object _gate = new();
    private readonly Queue<(long Bytes, TaskCompletionSource Waiter)> _waiters = new();
    private long _available = capacity;

    public Task AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        if (bytes > _capacity) throw new ArgumentOutOfRangeException(nameof(bytes), bytes, $"larger than the whole budget {_capacity}");
        lock (_gate)
        {
            if (_waiters.Count == 0 && _available >= bytes)
            {
                _available -= bytes;
                return Task.CompletedTask;
            }
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue((bytes, waiter));
            return waiter.Task.WaitAsync(cancellationToken);
        }
    }

    public void Release(long bytes)
    {
        lock (_gate)
        {
            _available += bytes;
            while (_waiters.Count > 0 && _available >= _waiters.Peek().Bytes)
            {
                var (n, waiter) = _waiters.Dequeue();
                _available -= n;
                waiter.TrySetResult();
            }
        }
    }
}

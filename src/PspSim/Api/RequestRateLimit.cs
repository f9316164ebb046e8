namespace PspSim.Api;

/// <summary>
/// Stripe's sandbox rate limiter (docs.stripe.com/rate-limits: 25 requests per second per account; pspsim models one
/// account): a fixed one-second window, off when <see cref="PspSimOptions.RateLimitPerSecond"/> is 0. A refused
/// request does not count. Stripe's limiter is smoother (and has concurrency and per-endpoint limits beside it).
/// </summary>
public sealed class RequestRateLimit(PspSimOptions options, TimeProvider clock)
{
    private readonly Lock _gate = new();
    private long _windowSecond = long.MinValue;
    private int _admitted;

    /// <summary>True when the request may run; false when it must be answered 429.</summary>
    public bool TryAdmit()
    {
        var limit = options.RateLimitPerSecond;
        if (limit == 0) return true;
        var second = clock.GetUtcNow().ToUnixTimeMilliseconds() / 1_000;
        lock (_gate)
        {
            if (second != _windowSecond)
            {
                _windowSecond = second;
                _admitted = 0;
            }
            if (_admitted >= limit) return false;
            _admitted++;
            return true;
        }
    }
}

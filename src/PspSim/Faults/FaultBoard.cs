namespace PspSim.Faults;

public static class FaultModes
{
    // Before the request runs; nothing changes and its idempotency key is free again.
    /// <summary>
    /// A 500 before the endpoint starts (an edge or load balancer failing): by Stripe's rule ("results are only saved
    /// if an API endpoint started executing") nothing runs and nothing is saved, so a same-key retry runs the request.
    /// </summary>
    public const string Http500 = "http_500";
    public const string ConnectionReset = "connection_reset";
    public const string Timeout = "timeout";
    /// <summary>Stripe's 429 lock_timeout: another request or process holds the object.</summary>
    public const string LockTimeout = "lock_timeout";
    /// <summary>Stripe's 429 rate_limit.</summary>
    public const string RateLimit = "rate_limit";

    /// <summary>The request holds its idempotency key for duration_ms (even if its client goes away), then runs.</summary>
    public const string HoldKey = "hold_key";

    // After the request ran (state and idempotent answer stored).
    /// <summary>
    /// The request runs and commits (a PaymentIntent created, confirmed, charged), then answers 500 api_error, and that
    /// 500 is what is saved under its idempotency key: every same-key retry for 24 h replays it, as at Stripe. A request
    /// refused before its endpoint ran (validation) gets its own answer, unchanged and unsaved.
    /// </summary>
    public const string Http500AfterExecution = "http_500_after_execution";
    /// <summary>
    /// The endpoint began executing and failed before it committed anything: nothing changes, and the 500 is saved
    /// under the idempotency key and replayed for 24 h (Stripe: "a request that failed with a 500 may still have" charged
    /// — or not; this is the "not"). Applied in place of running the request.
    /// </summary>
    public const string Http500RolledBack = "http_500_rolled_back";
    public const string ResponseLost = "response_lost";
    /// <summary>A proxy or load balancer answers 408 with its own page: no Stripe error body, no Stripe headers.</summary>
    public const string Proxy408 = "proxy_408";
    /// <summary>The PaymentIntent as answered (not as stored) reports another amount.</summary>
    public const string TamperAmount = "tamper_amount";
    /// <summary>The PaymentIntent as answered reports more received (and its charge more captured) than its amount.</summary>
    public const string TamperAmountReceived = "tamper_amount_received";
    /// <summary>The PaymentIntent as answered reports another currency.</summary>
    public const string TamperCurrency = "tamper_currency";
    /// <summary>A 200 whose JSON body is cut in half (a connection that dropped mid-body behind a buffering proxy).</summary>
    public const string TruncatedBody = "truncated_body";

    public static readonly IReadOnlySet<string> All = new HashSet<string>
    {
        Http500, ConnectionReset, Timeout, LockTimeout, RateLimit, HoldKey, ResponseLost, Proxy408, Http500AfterExecution, Http500RolledBack,
        TamperAmount, TamperAmountReceived, TamperCurrency, TruncatedBody,
    };
}

/// <summary>An injected fault: fires on matching /v1 requests with a probability, for the next Count of them (or forever).</summary>
public sealed record Fault(string Id, string Mode, double Probability, int? Remaining, string? PathPrefix, string? Method, int? DurationMs = null);

public sealed record Latency(int FixedMs, int JitterMs);

/// <summary>Active faults (checked in order, at most <see cref="MaxFaults"/>) and latency for /v1 requests.</summary>
public sealed class FaultBoard
{
    public const int MaxFaults = 100;
    private readonly Lock _gate = new();
    private readonly List<Fault> _faults = [];
    private Latency _latency = new(0, 0);
    private int _nextId;

    public Latency Latency
    {
        get { lock (_gate) return _latency; }
        set { lock (_gate) _latency = value; }
    }

    public IReadOnlyList<Fault> Active()
    {
        lock (_gate) return _faults.ToList();
    }

    public Fault Add(string mode, double probability, int? count, string? pathPrefix, string? method, int? durationMs = null)
    {
        lock (_gate)
        {
            if (_faults.Count >= MaxFaults) throw new InvalidOperationException($"at most {MaxFaults} faults may be active");
            var fault = new Fault($"fault_{++_nextId}", mode, probability, count, pathPrefix, method, durationMs);
            _faults.Add(fault);
            return fault;
        }
    }

    public void Reset()
    {
        lock (_gate)
        {
            _faults.Clear();
            _latency = new(0, 0);
        }
    }

    /// <summary>The first active fault that matches and fires; consumes one of its count.</summary>
    public Fault? Match(string method, string path)
    {
        lock (_gate)
        {
            for (var i = 0; i < _faults.Count; i++)
            {
                var f = _faults[i];
                if (f.PathPrefix is not null && !path.StartsWith(f.PathPrefix, StringComparison.Ordinal)) continue;
                if (f.Method is not null && !string.Equals(f.Method, method, StringComparison.OrdinalIgnoreCase)) continue;
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

    public TimeSpan NextDelay()
    {
        var l = Latency;
        var ms = l.FixedMs + (l.JitterMs > 0 ? Random.Shared.Next(0, l.JitterMs + 1) : 0);
        return TimeSpan.FromMilliseconds(ms);
    }
}

using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using PspSim.Events;
using PspSim.Storage;
using PspSim.Stripe;

namespace PspSim.Webhooks;

/// <summary>
/// Delivers committed events to webhook endpoints off the request path: a bounded queue
/// (<see cref="PspSimOptions.WebhookMaxPendingDeliveries"/> counts every delivery queued, waiting for a retry, held by a
/// fault or running), <see cref="PspSimOptions.WebhookMaxInFlight"/> attempts at once, each bounded by
/// <see cref="PspSimOptions.WebhookTimeoutMs"/>, retried on non-2xx or no answer on <see cref="RetryWaitMs"/>'s schedule
/// up to <see cref="PspSimOptions.WebhookMaxAttempts"/>. Every attempt is rendered and signed afresh (the body is what
/// GET /v1/events/{id} answers at that moment) and recorded in <see cref="Attempts"/>. Deliveries live in memory: a
/// restart forgets those not yet made (Payrail's catch-up pages /v1/events for what it missed).
/// </summary>
public sealed class WebhookDelivery : BackgroundService, IWebhookSink
{
    /// <summary>Stripe-like waits before retry n (n = 1 after the first attempt failed), about three days in all; the last repeats.</summary>
    private static readonly long[] RetryScheduleMs =
    [
        60_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 5 * 3_600_000, 10 * 3_600_000, 10 * 3_600_000, 12 * 3_600_000,
    ];
    /// <summary>Longest the scheduler sleeps when nothing is due (a new due delivery wakes it at once).</summary>
    private const int MaxIdleWaitMs = 200;
    private const string UserAgent = "Stripe/1.0 (+https://stripe.com/docs/webhooks)";

    private readonly SimStore _store;
    private readonly PspSimOptions _options;
    private readonly DeliveryFaultBoard _faults;
    private readonly ILogger<WebhookDelivery> _log;
    private readonly Channel<Delivery> _ready;
    private readonly HttpClient _http;
    private readonly Lock _gate = new();
    // Both guarded by _gate: retries and delayed deliveries by due time (Environment.TickCount64 ms), and reorder holds.
    private readonly PriorityQueue<Delivery, long> _scheduled = new();
    private readonly List<Delivery> _held = [];
    private int _holdReleaseAfter;
    private int _attemptedSinceHold;
    private long _holdDeadlineMs;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private int _pending;

    public DeliveryAttempts Attempts { get; }
    /// <summary>Deliveries not finished: queued, waiting for a retry, held or running.</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <param name="Counts">Whether its 2xx lowers the event's pending_webhooks (a duplicate's copies do not).</param>
    private sealed record Delivery(EventState Event, string EndpointId, int Attempt, int Copy, bool FaultsApplied, bool Counts, bool WasHeld);

    public WebhookDelivery(SimStore store, PspSimOptions options, DeliveryFaultBoard faults, ILogger<WebhookDelivery> log)
    {
        _store = store;
        _options = options;
        _faults = faults;
        _log = log;
        Attempts = new DeliveryAttempts(options.WebhookMaxAttemptsKept);
        // As large as the admission bound, so an admitted delivery always fits: TryWrite never fails.
        _ready = Channel.CreateBounded<Delivery>(new BoundedChannelOptions(options.WebhookMaxPendingDeliveries)
        {
            SingleReader = false, SingleWriter = false, FullMode = BoundedChannelFullMode.Wait,
        });
        _http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false, // Stripe counts a redirect as a failed delivery.
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            ConnectTimeout = TimeSpan.FromMilliseconds(options.WebhookTimeoutMs),
        })
        { Timeout = Timeout.InfiniteTimeSpan };
        store.Webhooks = this;
    }

    /// <summary>Waits before retry <paramref name="retry"/> (1-based), scaled by <see cref="PspSimOptions.WebhookRetryScale"/>.</summary>
    public static long RetryWaitMs(int retry, double scale) =>
        (long)Math.Ceiling(RetryScheduleMs[Math.Min(retry, RetryScheduleMs.Length) - 1] * scale);

    public void Enqueue(IReadOnlyList<PendingDelivery> deliveries)
    {
        foreach (var d in deliveries)
            Admit(new Delivery(d.Event, d.EndpointId, 1, 0, FaultsApplied: false, Counts: true, WasHeld: false), _options.WebhookFirstAttemptDelayMs);
    }

    private void Admit(Delivery delivery, int delayMs = 0)
    {
        if (Interlocked.Increment(ref _pending) > _options.WebhookMaxPendingDeliveries)
        {
            Interlocked.Decrement(ref _pending);
            Record(delivery, null, null, AttemptOutcomes.Skipped, "queue full (PspSim:WebhookMaxPendingDeliveries)", 0, null, gaveUp: true);
            return;
        }
        if (delayMs > 0) Schedule(delivery, delayMs);
        else _ready.Writer.TryWrite(delivery);
    }

    /// <summary>Reorder holds end now: what a fault held goes out, newest first (as /_sim/reset does).</summary>
    public void ReleaseHeld()
    {
        lock (_gate) ReleaseHeldLocked();
    }

    private void ReleaseHeldLocked()
    {
        for (var i = _held.Count - 1; i >= 0; i--) _ready.Writer.TryWrite(_held[i]);
        _held.Clear();
        _attemptedSinceHold = 0;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var workers = Enumerable.Range(0, _options.WebhookMaxInFlight).Select(_ => WorkAsync(stoppingToken)).ToList();
        workers.Add(ScheduleAsync(stoppingToken));
        try { await Task.WhenAll(workers); }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        await foreach (var delivery in _ready.Reader.ReadAllAsync(stoppingToken))
        {
            try { await HandleAsync(delivery, stoppingToken); }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                // A bug must not stop delivery for everyone else: this delivery ends, recorded.
                _log.LogError(e, "webhook delivery of {EventId} to {EndpointId} failed unexpectedly", delivery.Event.Id, delivery.EndpointId);
                Finish(delivery, AttemptOutcomes.Skipped, "internal error: " + e.GetType().Name);
            }
        }
    }

    /// <summary>Moves due retries and delayed deliveries to the queue, and ends reorder holds past their deadline.</summary>
    private async Task ScheduleAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            long waitMs;
            lock (_gate)
            {
                var now = Environment.TickCount64;
                while (_scheduled.TryPeek(out var next, out var dueAt) && dueAt <= now)
                {
                    _scheduled.Dequeue();
                    _ready.Writer.TryWrite(next);
                }
                if (_held.Count > 0 && _holdDeadlineMs <= now) ReleaseHeldLocked();
                waitMs = MaxIdleWaitMs;
                if (_scheduled.TryPeek(out _, out var nextDue)) waitMs = Math.Min(waitMs, nextDue - now);
                if (_held.Count > 0) waitMs = Math.Min(waitMs, _holdDeadlineMs - now);
            }
            try { await _wake.WaitAsync(TimeSpan.FromMilliseconds(Math.Max(1, waitMs)), stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }

    private void Schedule(Delivery delivery, long inMs)
    {
        lock (_gate) _scheduled.Enqueue(delivery, Environment.TickCount64 + inMs);
        try { _wake.Release(); }
        catch (SemaphoreFullException) { } // already awake
    }

    private async Task HandleAsync(Delivery delivery, CancellationToken stoppingToken)
    {
        if (!delivery.FaultsApplied && ApplyFault(delivery)) return;
        var (target, secrets) = _store.Read<(string? Url, IReadOnlyList<string> Secrets)>(s =>
        {
            var endpoint = s.WebhookEndpoints.Find(delivery.EndpointId);
            return endpoint is null || endpoint.Status != WebhookEndpointState.Enabled ? (null, []) : (endpoint.Url, endpoint.SigningSecrets(s.Now()));
        });
        if (target is null)
        {
            Finish(delivery, AttemptOutcomes.Skipped, "endpoint deleted or disabled");
            return;
        }
        // Rendered outside the store lock (an event does not change but for its atomic pending_webhooks).
        var body = StripeJson.Event(delivery.Event).ToJsonString();
        var started = Stopwatch.GetTimestamp();
        var (status, error) = await PostAsync(target, body, secrets, stoppingToken);
        var elapsedMs = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        NoteAttempted(delivery);
        if (status is >= 200 and < 300)
        {
            if (delivery.Counts) delivery.Event.WebhookDelivered();
            Record(delivery, target, status, AttemptOutcomes.Delivered, null, elapsedMs, null, gaveUp: false);
            Interlocked.Decrement(ref _pending);
            return;
        }
        if (delivery.Attempt >= _options.WebhookMaxAttempts)
        {
            Record(delivery, target, status, AttemptOutcomes.Failed, error, elapsedMs, null, gaveUp: true);
            Interlocked.Decrement(ref _pending);
            _log.LogInformation("webhook {EventId} to {EndpointId} given up after {Attempts} attempts", delivery.Event.Id, delivery.EndpointId, delivery.Attempt);
            return;
        }
        var waitMs = RetryWaitMs(delivery.Attempt, _options.WebhookRetryScale);
        Record(delivery, target, status, AttemptOutcomes.Failed, error, elapsedMs, waitMs, gaveUp: false);
        Schedule(delivery with { Attempt = delivery.Attempt + 1, FaultsApplied = true }, waitMs);
    }

    /// <summary>Applies the first matching delivery fault; true when the delivery does not go out now.</summary>
    private bool ApplyFault(Delivery delivery)
    {
        var fault = _faults.Match(delivery.Event.Type);
        var applied = delivery with { FaultsApplied = true };
        switch (fault?.Mode)
        {
            case DeliveryFaultModes.Drop:
                _log.LogInformation("delivery fault {FaultId}: {EventId} to {EndpointId} dropped", fault.Id, delivery.Event.Id, delivery.EndpointId);
                Finish(delivery, AttemptOutcomes.Dropped, $"dropped by {fault.Id}");
                return true;
            case DeliveryFaultModes.Delay:
                Schedule(applied, fault.DelayMs);
                return true;
            case DeliveryFaultModes.Duplicate:
                for (var copy = 1; copy < fault.Copies; copy++) Admit(applied with { Copy = copy, Counts = false });
                return false;
            case DeliveryFaultModes.Reorder:
                lock (_gate)
                {
                    if (_held.Count == 0) _holdDeadlineMs = Environment.TickCount64 + fault.MaxHoldMs;
                    _held.Add(applied with { WasHeld = true });
                    _holdReleaseAfter = fault.ReleaseAfter;
                    _attemptedSinceHold = 0;
                }
                try { _wake.Release(); }
                catch (SemaphoreFullException) { }
                return true;
            default:
                return false;
        }
    }

    /// <summary>A first attempt of a delivery not held counts towards releasing what a reorder fault holds.</summary>
    private void NoteAttempted(Delivery delivery)
    {
        if (delivery.Attempt != 1 || delivery.WasHeld) return;
        lock (_gate)
        {
            if (_held.Count > 0 && ++_attemptedSinceHold >= _holdReleaseAfter) ReleaseHeldLocked();
        }
    }

    private void Finish(Delivery delivery, string outcome, string error)
    {
        Record(delivery, null, null, outcome, error, 0, null, gaveUp: true);
        Interlocked.Decrement(ref _pending);
    }

    private void Record(Delivery d, string? url, int? status, string outcome, string? error, long elapsedMs, long? nextInMs, bool gaveUp) =>
        Attempts.Record(new DeliveryAttempt(Attempts.NextSeq(), d.Event.Id, d.Event.Type, d.EndpointId, url, d.Attempt, d.Copy, status, outcome,
            error, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), elapsedMs, nextInMs, gaveUp));

    /// <summary>One signed POST; the status, or null and why when there was no answer in time.</summary>
    private async Task<(int? Status, string? Error)> PostAsync(string url, string body, IReadOnlyList<string> secrets, CancellationToken stoppingToken)
    {
        // Real time, not the sim clock: receivers check the timestamp against their own clock (Stripe's tolerance is 300 s).
        var signature = WebhookSignature.Header(DateTimeOffset.UtcNow.ToUnixTimeSeconds(), body, secrets);
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", signature);
        request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
        request.Headers.TryAddWithoutValidation("Cache-Control", "no-cache");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(_options.WebhookTimeoutMs);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            return (status, status is >= 200 and < 300 ? null : $"HTTP {status}");
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return (null, $"no answer within {_options.WebhookTimeoutMs} ms");
        }
        catch (HttpRequestException e)
        {
            return (null, "connection failed: " + (e.HttpRequestError == HttpRequestError.Unknown ? e.Message : e.HttpRequestError.ToString()));
        }
    }

    public override void Dispose()
    {
        _http.Dispose();
        _wake.Dispose();
        base.Dispose();
    }
}

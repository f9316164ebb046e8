using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using HdrHistogram;
using Spectre.Console;

namespace Payrail.Bench;

public sealed record PaymentsBenchOptions(
    Uri ApiBaseUrl,
    string BearerToken,
    string MerchantId,
    int Concurrency,
    TimeSpan Duration,
    int? ArrivalRatePerSecond,
    int RequestTimeoutMs);

public sealed record PaymentsBenchResult(long Succeeded, long Failed, double Seconds, LongHistogram LatencyMicros, IReadOnlyDictionary<string, long> ErrorsByKind)
{
    public double PaymentsPerSecond => Succeeded / Seconds;
}

/// <summary>
/// Load generator for POST /v1/payments with a fresh idempotency key per request. Closed loop:
/// N clients each send the next request when the last one answered. Open loop: requests are
/// due at a fixed rate and latency is measured from when each was due, so a stall is not
/// hidden by the clients slowing down (coordinated omission).
/// </summary>
public static class PaymentsBench
{
    private const int MaxInFlightOpenLoop = 2_048;
    private const long HighestTrackableMicros = 60_000_000;

    public static async Task<PaymentsBenchResult> RunAsync(PaymentsBenchOptions options, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = Math.Max(options.Concurrency, 64),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        })
        {
            BaseAddress = options.ApiBaseUrl,
            Timeout = TimeSpan.FromMilliseconds(options.RequestTimeoutMs),
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.BearerToken);

        var recorder = new Recorder();
        var clock = Stopwatch.StartNew();
        var end = options.Duration;

        await AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var bar = progress.AddTask(options.ArrivalRatePerSecond is { } rate
                    ? $"open loop, {rate}/s" : $"closed loop, {options.Concurrency} clients", maxValue: end.TotalMilliseconds);
                var work = options.ArrivalRatePerSecond is { } r
                    ? OpenLoopAsync(http, options, r, recorder, clock, end, cancellationToken)
                    : ClosedLoopAsync(http, options, recorder, clock, end, cancellationToken);
                while (!work.IsCompleted)
                {
                    bar.Value = Math.Min(clock.Elapsed.TotalMilliseconds, end.TotalMilliseconds);
                    await Task.WhenAny(work, Task.Delay(200, CancellationToken.None));
                }
                bar.Value = end.TotalMilliseconds;
                await work;
            });

        var seconds = Math.Min(clock.Elapsed.TotalSeconds, end.TotalSeconds + options.RequestTimeoutMs / 1000.0);
        return recorder.ToResult(Math.Max(seconds, 0.001));
    }

    private static async Task ClosedLoopAsync(HttpClient http, PaymentsBenchOptions options, Recorder recorder,
        Stopwatch clock, TimeSpan end, CancellationToken cancellationToken)
    {
        var clients = Enumerable.Range(0, options.Concurrency).Select(async _ =>
        {
            while (clock.Elapsed < end && !cancellationToken.IsCancellationRequested)
            {
                var started = clock.Elapsed;
                var outcome = await SendOneAsync(http, options.MerchantId, cancellationToken);
                recorder.Record(outcome, clock.Elapsed - started);
            }
        });
        await Task.WhenAll(clients);
    }

    private static async Task OpenLoopAsync(HttpClient http, PaymentsBenchOptions options, int ratePerSecond, Recorder recorder,
        Stopwatch clock, TimeSpan end, CancellationToken cancellationToken)
    {
        var inFlight = new List<Task>();
        var interval = TimeSpan.FromSeconds(1.0 / ratePerSecond);
        var due = TimeSpan.Zero;
        while (due < end && !cancellationToken.IsCancellationRequested)
        {
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1)) await Task.Delay(wait, cancellationToken);
            inFlight.RemoveAll(t => t.IsCompleted);
            var intended = due;
            if (inFlight.Count >= MaxInFlightOpenLoop)
            {
                recorder.Record("dropped: too many in flight", clock.Elapsed - intended);
            }
            else
            {
                inFlight.Add(Task.Run(async () =>
                {
                    var outcome = await SendOneAsync(http, options.MerchantId, cancellationToken);
                    recorder.Record(outcome, clock.Elapsed - intended);
                }, cancellationToken));
            }
            due += interval;
        }
        await Task.WhenAll(inFlight);
    }

    /// <summary>Returns null on success, otherwise the kind of failure.</summary>
    private static async Task<string?> SendOneAsync(HttpClient http, string merchantId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/payments")
        {
            Content = new StringContent(
                $$"""{"merchant_id":"{{merchantId}}","amount":1999,"currency":"USD","payment_method":"pm_card_visa"}""",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            return response.StatusCode == HttpStatusCode.Created ? null : $"http {(int)response.StatusCode}";
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return "timeout";
        }
        catch (HttpRequestException e)
        {
            return $"transport: {e.HttpRequestError}";
        }
    }

    private sealed class Recorder
    {
        private readonly Lock _gate = new();
        private readonly LongHistogram _latencyMicros = new(HighestTrackableMicros, 3);
        private readonly Dictionary<string, long> _errors = new();
        private long _succeeded;
        private long _failed;

        public void Record(string? failure, TimeSpan latency)
        {
            var micros = Math.Clamp((long)latency.TotalMicroseconds, 1, HighestTrackableMicros);
            lock (_gate)
            {
                _latencyMicros.RecordValue(micros);
                if (failure is null) { _succeeded++; return; }
                _failed++;
                _errors[failure] = _errors.GetValueOrDefault(failure) + 1;
            }
        }

        public PaymentsBenchResult ToResult(double seconds)
        {
            lock (_gate) return new PaymentsBenchResult(_succeeded, _failed, seconds, _latencyMicros, new Dictionary<string, long>(_errors));
        }
    }
}

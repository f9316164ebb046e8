using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace Payrail.Bench;

/// <param name="BearerTokens">Used in turn, one per request: many buyers keep a gateway's per-buyer limit out of the measurement.</param>
/// <param name="Label">The run's name in the report.</param>
public sealed record PaymentsBenchOptions(
    Uri ApiBaseUrl,
    IReadOnlyList<string> BearerTokens,
    string MerchantId,
    int Concurrency,
    TimeSpan Duration,
    int? ArrivalRatePerSecond,
    int RequestTimeoutMs,
    string Label = PaymentsBench.Target);

/// <summary>
/// Load generator for POST /v1/payments with a fresh idempotency key per request. Closed loop:
/// N clients each send the next request when the last one answered. Open loop: requests are
/// due at a fixed rate and latency is measured from when each was due, so a stall is not
/// hidden by the clients slowing down (coordinated omission; see <see cref="OpenLoop"/>).
/// </summary>
public static class PaymentsBench
{
    public const string Target = "payrail";
    public const string Request = "POST /v1/payments";

    public static async Task<LatencyReport> RunAsync(PaymentsBenchOptions options, CancellationToken cancellationToken)
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
        var tokens = new TokenRotation(options.BearerTokens);

        var recorder = new LatencyRecorder();
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
                    ? OpenLoop.RunAsync(ct => SendOneAsync(http, tokens.Next(), options.MerchantId, ct), r, recorder, clock, end, cancellationToken)
                    : ClosedLoopAsync(http, tokens, options, recorder, clock, end, cancellationToken);
                while (!work.IsCompleted)
                {
                    bar.Value = Math.Min(clock.Elapsed.TotalMilliseconds, end.TotalMilliseconds);
                    await Task.WhenAny(work, Task.Delay(200, CancellationToken.None));
                }
                bar.Value = end.TotalMilliseconds;
                await work;
            });

        var seconds = Math.Min(clock.Elapsed.TotalSeconds, end.TotalSeconds + options.RequestTimeoutMs / 1000.0);
        return recorder.ToReport(options.Label, Math.Max(seconds, 0.001));
    }

    private static async Task ClosedLoopAsync(HttpClient http, TokenRotation tokens, PaymentsBenchOptions options, LatencyRecorder recorder,
        Stopwatch clock, TimeSpan end, CancellationToken cancellationToken)
    {
        var clients = Enumerable.Range(0, options.Concurrency).Select(async _ =>
        {
            while (clock.Elapsed < end && !cancellationToken.IsCancellationRequested)
            {
                var handle = recorder.Begin(clock.Elapsed);
                var outcome = await SendOneAsync(http, tokens.Next(), options.MerchantId, cancellationToken);
                recorder.Complete(handle, outcome, clock.Elapsed);
            }
        });
        await Task.WhenAll(clients);
    }

    /// <summary>The problem's stable `type` (what an engineer looks up), or nothing when the body is not a problem.</summary>
    private static async Task<string> ProblemTypeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            return problem.RootElement.TryGetProperty("type", out var type) ? type.ToString() : "";
        }
        catch (JsonException)
        {
            return "";
        }
    }

    /// <summary>Returns null on success, otherwise the kind of failure.</summary>
    private static async Task<string?> SendOneAsync(HttpClient http, string token, string merchantId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/payments")
        {
            Content = new StringContent(
                $$"""{"merchant_id":"{{merchantId}}","amount":1999,"currency":"USD","payment_method":"pm_card_visa"}""",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            return response.StatusCode == HttpStatusCode.Created ? null : $"http {(int)response.StatusCode} {await ProblemTypeAsync(response, cancellationToken)}";
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
}

/// <summary>The bench's tokens, one per request in turn.</summary>
internal sealed class TokenRotation(IReadOnlyList<string> tokens)
{
    private long _next = -1;

    public string Next() => tokens[(int)((ulong)Interlocked.Increment(ref _next) % (ulong)tokens.Count)];
}

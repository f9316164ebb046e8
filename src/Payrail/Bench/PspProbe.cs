using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;

namespace Payrail.Bench;

/// <summary>
/// pspsim's own latency during a bench run: a light open loop of the call Payrail makes per payment (a confirmed card
/// PaymentIntent), sent straight to the PSP. Beside Payrail's figures it tells whether a stall is the stand-in's or
/// Payrail's. Adds <see cref="RatePerSecond"/> intents/s to pspsim's load.
/// </summary>
public static class PspProbe
{
    public const int RatePerSecond = 20;
    public const string Target = "pspsim";
    public const string Request = "POST /v1/payment_intents confirm=true";

    /// <summary>The configured PSP (Stripe:BaseUrl) if it is on this machine; never a real PSP account.</summary>
    public static Uri? LocalPsp(IConfiguration configuration) =>
        Uri.TryCreate(configuration["Stripe:BaseUrl"], UriKind.Absolute, out var url) && url.IsLoopback
            && !string.IsNullOrEmpty(configuration["Stripe:ApiKey"]) ? url : null;

    public static async Task<LatencyReport> RunAsync(Uri baseUrl, string apiKey, TimeSpan duration, int requestTimeoutMs,
        CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromMilliseconds(requestTimeoutMs) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        var recorder = new LatencyRecorder();
        var clock = Stopwatch.StartNew();
        await OpenLoop.RunAsync(ct => SendOneAsync(http, ct), RatePerSecond, recorder, clock, duration, cancellationToken);
        return recorder.ToReport(Target, Math.Max(Math.Min(clock.Elapsed.TotalSeconds, duration.TotalSeconds + requestTimeoutMs / 1000.0), 0.001));
    }

    private static async Task<string?> SendOneAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/payment_intents")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["amount"] = "1999", ["currency"] = "usd", ["payment_method"] = "pm_card_visa", ["confirm"] = "true",
                ["automatic_payment_methods[enabled]"] = "true", ["automatic_payment_methods[allow_redirects]"] = "never",
            }),
        };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            return response.StatusCode == HttpStatusCode.OK ? null : $"http {(int)response.StatusCode}";
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

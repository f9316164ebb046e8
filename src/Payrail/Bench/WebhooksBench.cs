using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Payrail.Auth;
using Payrail.DevEnvironment;
using Payrail.Webhooks;
using Spectre.Console;

namespace Payrail.Bench;

/// <summary>
/// `payrail bench webhooks`: signed deliveries per second that the receiver verified and applied, and their latency, at
/// a fixed rate (open loop, timed from when each was due). Each delivery is one of pspsim's real
/// <c>payment_intent.succeeded</c> events for a payment that waits on 3-D Secure, signed with the registered endpoint's
/// secret, so each one verifies, moves a payment processing → captured (three transitions, a ledger transfer, four outbox
/// rows) and records the event id, in one transaction. Preparing them: payments through the API, 3-D Secure approved at the
/// local pspsim while a <c>drop</c> delivery fault keeps pspsim's own copies of those events away (else the bench's would
/// be duplicates).
/// </summary>
public static class WebhooksBench
{
    public const string Target = "payrail";
    public const string Request = "POST /webhooks/psp/stripe (payment_intent.succeeded, signed)";

    /// <summary>Payments prepared at most (one event each): bounds the preparation and the events held in memory.</summary>
    public const int MaxDeliveries = 100_000;

    /// <summary>Concurrent requests while preparing (not measured).</summary>
    private const int PrepareConcurrency = 16;

    private const int RequestTimeoutMs = 30_000;

    /// <summary>
    /// Deliveries sent at the rate before the measurement, unmeasured: the first runs measured opened with a ~0.1 s stall
    /// within their first 1.5 s (connections being opened, cold paths), which alone decides p99 of a 15 s run.
    /// </summary>
    private const int WarmUpSeconds = 1;

    public static async Task<int> RunAsync(IConfiguration configuration, int rate, int seconds, string? url, string merchant,
        CancellationToken cancellationToken)
    {
        // One more second of events than measured: see WarmUpSeconds.
        var count = (long)rate * (seconds + WarmUpSeconds);
        if (rate < 1 || seconds < 1 || count > MaxDeliveries)
        {
            Console.Error.WriteLine($"--rate ≥ 1 and --seconds ≥ 1, with rate × seconds at most {MaxDeliveries} (one prepared payment per delivery)");
            return 2;
        }
        if (PspProbe.LocalPsp(configuration) is not { } psp)
        {
            Console.Error.WriteLine("bench webhooks needs the local pspsim (Stripe:BaseUrl on this machine): it approves 3-D Secure there and holds back its own deliveries");
            return 2;
        }
        var secret = (configuration.GetSection("Stripe:WebhookSecrets").GetChildren().FirstOrDefault()?.Value is { Length: > 0 } configured
            ? configured : null) ?? DevSecrets.ForProject().TryRead(WebhookRegistration.SecretName);
        if (secret is null)
        {
            Console.Error.WriteLine($"no webhook secret: run `./payrail up` (it keeps one in .payrail/secrets/{WebhookRegistration.SecretName}) or set Stripe:WebhookSecrets");
            return 2;
        }
        var apiUrl = new Uri(url ?? configuration["Api:Urls"]?.Split(';')[0] ?? "http://127.0.0.1:8081");
        var token = DevTokens.Issue(AuthOptions.ForDevTool(configuration), Roles.Buyer, $"bench_wh_{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}", null,
            TimeSpan.FromMinutes(30), TimeProvider.System.GetUtcNow());

        using var api = new HttpClient { BaseAddress = apiUrl, Timeout = TimeSpan.FromMilliseconds(RequestTimeoutMs) };
        using var pspHttp = new HttpClient { BaseAddress = psp, Timeout = TimeSpan.FromMilliseconds(RequestTimeoutMs) };
        pspHttp.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", configuration["Stripe:ApiKey"]);
        Console.WriteLine($"preparing {count} payments waiting on 3-D Secure (merchant {merchant}), approved at {psp} ...");
        var events = await PrepareAsync(api, pspHttp, token, merchant, (int)count, cancellationToken);
        if (events.Count < count)
        {
            Console.Error.WriteLine($"prepared {events.Count} of {count} events; nothing measured");
            return 1;
        }

        var management = configuration["Api:ManagementUrls"]?.Split(';')[0] ?? "http://127.0.0.1:9081";
        Console.WriteLine($"POST {apiUrl}webhooks/psp/stripe for {seconds} s, open loop at {rate}/s, from {DateTime.UtcNow:HH:mm:ss.fff} UTC");
        var (report, server) = await DeliverAsync(apiUrl, management, secret, events, rate, TimeSpan.FromSeconds(seconds), cancellationToken);
        Print(report, server);
        return report.Failed == 0 ? 0 : 1;
    }

    /// <summary>The events to deliver: one real payment_intent.succeeded per prepared payment, as pspsim renders it.</summary>
    private static async Task<IReadOnlyList<string>> PrepareAsync(HttpClient api, HttpClient psp, string token, string merchant, int count,
        CancellationToken cancellationToken)
    {
        using var fault = await psp.PostAsJsonAsync("/_sim/webhooks/faults",
            new { mode = "drop", count, event_type = "payment_intent.succeeded" }, cancellationToken);
        fault.EnsureSuccessStatusCode();
        using var created = JsonDocument.Parse(await fault.Content.ReadAsStringAsync(cancellationToken));
        var faultId = created.RootElement.GetProperty("id").ToString();
        var intents = new System.Collections.Concurrent.ConcurrentBag<string>();
        var next = -1;
        try
        {
            await Task.WhenAll(Enumerable.Range(0, PrepareConcurrency).Select(async _ =>
            {
                while (Interlocked.Increment(ref next) < count && !cancellationToken.IsCancellationRequested)
                {
                    if (await CreateAndApproveAsync(api, psp, token, merchant, cancellationToken) is { } intent) intents.Add(intent);
                }
            }));
        }
        finally
        {
            // pspsim consumes the fault when it attempts a delivery, after its answer: first let it attempt them all.
            // Its own deliveries of the preparation (a requires_action per payment) then no longer share the measurement.
            if (!await UntilPspDeliveredAsync(psp, CancellationToken.None))
                Console.WriteLine($"warning: pspsim still had deliveries pending after {MaxSettleWait.TotalSeconds:0} s; they overlap the measurement");
            await ClearLeftoverDropAsync(psp, faultId);
        }
        var wanted = intents.ToHashSet(StringComparer.Ordinal);
        var events = new List<string>(wanted.Count);
        string? startingAfter = null;
        // pspsim lists newest first: the run's events are on the first pages.
        for (var page = 0; page < count / 100 + 10 && events.Count < wanted.Count; page++)
        {
            var query = "/v1/events?type=payment_intent.succeeded&limit=100" + (startingAfter is null ? "" : "&starting_after=" + startingAfter);
            using var list = JsonDocument.Parse(await psp.GetStringAsync(query, cancellationToken));
            foreach (var e in list.RootElement.GetProperty("data").EnumerateArray())
            {
                startingAfter = e.GetProperty("id").GetString();
                if (wanted.Contains(e.GetProperty("data").GetProperty("object").GetProperty("id").GetString()!)) events.Add(e.GetRawText());
            }
            if (!list.RootElement.GetProperty("has_more").GetBoolean()) break;
        }
        return events;
    }

    /// <summary>
    /// A drop fault not used up (an approval failed, the run was cancelled) would go on losing real deliveries under `up`:
    /// pspsim clears faults only all at once, so the lesser harm is to clear them all, and say so.
    /// </summary>
    private static async Task ClearLeftoverDropAsync(HttpClient psp, string faultId)
    {
        using var listed = JsonDocument.Parse(await psp.GetStringAsync("/_sim/webhooks/faults", CancellationToken.None));
        if (!listed.RootElement.GetProperty("faults").EnumerateArray().Any(f => f.GetProperty("id").ToString() == faultId)) return;
        using var cleared = await psp.DeleteAsync("/_sim/webhooks/faults", CancellationToken.None);
        Console.WriteLine("note: the bench's drop fault was not used up; pspsim's delivery faults were cleared");
    }

    /// <summary>Longest wait for pspsim to finish delivering what the preparation emitted.</summary>
    private static readonly TimeSpan MaxSettleWait = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan SettlePollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Whether pspsim has attempted every delivery it had (none waiting or running) within <see cref="MaxSettleWait"/>.</summary>
    private static async Task<bool> UntilPspDeliveredAsync(HttpClient psp, CancellationToken cancellationToken)
    {
        var until = Stopwatch.StartNew();
        while (until.Elapsed < MaxSettleWait)
        {
            using var attempts = JsonDocument.Parse(await psp.GetStringAsync("/_sim/webhooks/attempts?limit=1", cancellationToken));
            if (attempts.RootElement.GetProperty("pending").GetInt32() == 0) return true;
            await Task.Delay(SettlePollInterval, cancellationToken);
        }
        return false;
    }

    /// <summary>A payment answered 202 with a 3-D Secure page, approved there; its PaymentIntent, or null if either step failed.</summary>
    private static async Task<string?> CreateAndApproveAsync(HttpClient api, HttpClient psp, string token, string merchant,
        CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/payments")
        {
            Content = new StringContent(
                $$"""{"merchant_id":"{{merchant}}","amount":1999,"currency":"USD","payment_method":"pm_card_authenticationRequired"}""",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        using var created = await api.SendAsync(request, cancellationToken);
        if (created.StatusCode != HttpStatusCode.Accepted) return null;
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync(cancellationToken));
        var intent = body.RootElement.GetProperty("psp_reference").GetString()!;
        using var approved = await psp.PostAsJsonAsync($"/_sim/3ds/{intent}", new { outcome = "approve" }, cancellationToken);
        return approved.IsSuccessStatusCode ? intent : null;
    }

    /// <summary>The client's measurement, and the receiver's own histogram over the same deliveries (null when unreachable).</summary>
    private static async Task<(LatencyReport Client, ServerHistogram? Server)> DeliverAsync(Uri apiUrl, string managementUrl, string secret,
        IReadOnlyList<string> events, int rate, TimeSpan duration, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 })
        {
            BaseAddress = apiUrl,
            Timeout = TimeSpan.FromMilliseconds(RequestTimeoutMs),
        };
        var key = Encoding.UTF8.GetBytes(secret);
        var next = -1;
        Task<string?> SendNextAsync(CancellationToken ct) => SendOneAsync(http, key, events[Interlocked.Increment(ref next) % events.Count], ct);
        await OpenLoop.RunAsync(SendNextAsync, rate, new LatencyRecorder(), Stopwatch.StartNew(), TimeSpan.FromSeconds(WarmUpSeconds), cancellationToken);
        var before = await ServerHistogram.ReadAsync(managementUrl, cancellationToken);
        var recorder = new LatencyRecorder();
        var clock = Stopwatch.StartNew();
        await OpenLoop.RunAsync(SendNextAsync, rate, recorder, clock, duration, cancellationToken);
        var seconds = Math.Min(clock.Elapsed.TotalSeconds, duration.TotalSeconds + RequestTimeoutMs / 1000.0);
        var after = await ServerHistogram.ReadAsync(managementUrl, cancellationToken);
        return (recorder.ToReport(Target, Math.Max(seconds, 0.001)), before is null || after is null ? null : after.Minus(before));
    }

    /// <summary>Signed now, as Stripe signs (<c>t=&lt;unix&gt;,v1=hex(HMAC-SHA256(secret, "t.body"))</c>). Null when applied.</summary>
    private static async Task<string?> SendOneAsync(HttpClient http, byte[] secret, string body, CancellationToken cancellationToken)
    {
        var t = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signature = Convert.ToHexStringLower(HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes($"{t}.{body}")));
        using var request = new HttpRequestMessage(HttpMethod.Post, WebhookEndpoints.StripeRoute)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation(WebhookEndpoints.SignatureHeader, $"t={t},v1={signature}");
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK) return $"http {(int)response.StatusCode}";
            using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            var outcome = answer.RootElement.GetProperty("outcome").GetString();
            // Stale: the worker's events catch-up applied the payment first (the bench drops pspsim's own deliveries, and
            // under `up` the catch-up converges them); verified and recorded all the same.
            return outcome is WebhookOutcome.Applied or WebhookOutcome.Stale ? null : $"outcome {outcome}";
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

    private static void Print(LatencyReport r, ServerHistogram? server)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumn(new TableColumn("ms").NoWrap())
            .AddColumns(new[] { "ok/s", "ok", "failed", "p50", "p99", "p99.9", "max", "stall", "at s" }
                .Select(c => new TableColumn(c).RightAligned()).ToArray());
        string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
        table.AddRow(Markup.Escape(r.Target), F(r.PerSecond, "0.0"), F(r.Succeeded, "0"), F(r.Failed, "0"), F(r.Millis(50), "0.0"),
            F(r.Millis(99), "0.0"), F(r.Millis(99.9), "0.0"), F(r.Millis(100), "0.0"), F(r.LongestStall.TotalMilliseconds, "0.0"),
            F(r.LongestStallEnd.TotalSeconds, "0.0"));
        AnsiConsole.Write(table);
        Console.WriteLine($"{Target}: {Request}; ok: verified and recorded (200 \"applied\", or \"stale\" when the worker's catch-up applied it first); latency from when each delivery was due to its answer, after {WarmUpSeconds} s of warm-up at the same rate");
        if (server is not null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"server: payrail.webhooks.duration (verify-and-commit, outcome applied) over {server.Count} deliveries: p50 ≤ {server.UpperBoundMs(50)} ms, p99 ≤ {server.UpperBoundMs(99)} ms (histogram bucket bounds)"));
        }
        foreach (var (kind, count) in r.ErrorsByKind.OrderByDescending(e => e.Value)) Console.WriteLine($"error {count,10}  {kind}");
    }
}

using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Xunit;

namespace Payrail.Testing;

/// <summary>
/// A real pspsim (Stripe-compatible PSP sandbox) on a free 127.0.0.1 port with a private data dir.
/// Point Stripe.net at it with <c>new StripeClient(fixture.ApiKey, apiBase: fixture.BaseUrl)</c>.
/// </summary>
public sealed class PspSimFixture : IAsyncLifetime
{
    private WebApplication? _app;
    private readonly HttpClient _control = new() { Timeout = TimeSpan.FromSeconds(10) };

    public int Port { get; } = FreePort.Next();
    public string BaseUrl => $"http://127.0.0.1:{Port}";
    /// <summary>Any sk_test_ key is accepted by default; this one is what tests use.</summary>
    public string ApiKey { get; } = "sk_test_payrail_" + Guid.NewGuid().ToString("N")[..16];
    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "pspsim-" + Guid.NewGuid().ToString("N"));
    /// <summary>Extra command-line style settings, e.g. "--PspSim:FeeFixedMinor=25" (set before InitializeAsync).</summary>
    public List<string> ExtraArgs { get; } = [];

    public async Task InitializeAsync() => await StartAsync();

    /// <summary>Starts pspsim again after <see cref="StopAsync"/> (same port, same data dir).</summary>
    public async Task StartAsync()
    {
        if (_app is not null) return;
        string[] args =
        [
            "--urls", BaseUrl, "--data-dir", DataDir,
            "--Logging:LogLevel:Default=Warning", "--PspSim:TimeoutFaultSeconds=30",
            // Webhooks at once: they race the caller's handling of the PSP's answer, the harder case (pspsim waits 500 ms by default, as Stripe sends later).
            "--PspSim:WebhookFirstAttemptDelayMs=0", .. ExtraArgs,
        ];
        _app = PspSim.PspSimApp.Build(args);
        await _app.StartAsync();
        _control.BaseAddress ??= new Uri(BaseUrl);
    }

    /// <summary>Stops pspsim and starts it again on the same port and data dir (state is replayed from its journal).</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    /// <summary>Stops pspsim: requests are refused (a PSP outage) until <see cref="StartAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_app is null) return;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(deadline.Token);
        await _app.DisposeAsync();
        _app = null;
    }

    /// <summary>POST /_sim/latency: every /v1 request waits fixed_ms + random(0..jitter_ms).</summary>
    public Task SetLatencyAsync(int fixedMs, int jitterMs = 0) =>
        PostAsync("/_sim/latency", new { fixed_ms = fixedMs, jitter_ms = jitterMs });

    /// <summary>POST /_sim/faults (modes: src/PspSim/README.md); durationMs only for hold_key.</summary>
    public Task AddFaultAsync(string mode, int? count = null, double? probability = null, string? pathPrefix = null, string? method = null,
        int? durationMs = null) =>
        PostAsync("/_sim/faults", new { mode, count, probability, path_prefix = pathPrefix, method, duration_ms = durationMs });

    /// <summary>POST /_sim/reset: clears faults and latency (keeps data).</summary>
    public Task ResetAsync() => PostAsync("/_sim/reset", new { });

    /// <summary>POST /_sim/payment_intents/{id}/authenticate: the customer passes (or fails) 3-D Secure (test shortcut).</summary>
    public Task AuthenticateAsync(string paymentIntentId, bool succeed = true) =>
        PostAsync($"/_sim/payment_intents/{paymentIntentId}/authenticate", new { outcome = succeed ? "succeed" : "fail" });

    /// <summary>POST /_sim/3ds/{id} <c>{"outcome":"approve"|"fail"}</c>: what the buyer's click on the 3-D Secure page posts.</summary>
    public Task CompleteThreeDSecureAsync(string paymentIntentId, bool approve = true) =>
        PostAsync($"/_sim/3ds/{paymentIntentId}", new { outcome = approve ? "approve" : "fail" });

    /// <summary>POST /_sim/webhooks/faults: a delivery fault (duplicate, reorder, delay, drop; src/PspSim/README.md "Webhooks").</summary>
    public Task AddDeliveryFaultAsync(object fault) => PostAsync("/_sim/webhooks/faults", fault);

    /// <summary>GET /_sim/webhooks/attempts: every delivery attempt kept (oldest first), of one event when <paramref name="eventId"/> is set.</summary>
    public async Task<IReadOnlyList<JsonElement>> DeliveryAttemptsAsync(string? eventId = null)
    {
        var path = "/_sim/webhooks/attempts?limit=10000" + (eventId is null ? "" : "&event_id=" + Uri.EscapeDataString(eventId));
        using var answer = JsonDocument.Parse(await _control.GetStringAsync(path));
        return [.. answer.RootElement.GetProperty("attempts").EnumerateArray().Select(a => a.Clone())];
    }

    /// <summary>Deliveries waiting or running at pspsim (GET /_sim/webhooks/attempts' <c>pending</c>).</summary>
    public async Task<int> PendingDeliveriesAsync()
    {
        using var answer = JsonDocument.Parse(await _control.GetStringAsync("/_sim/webhooks/attempts?limit=1"));
        return answer.RootElement.GetProperty("pending").GetInt32();
    }

    /// <summary>POST /_sim/payment_intents/{id}/settle: a processing intent (pm_card_sim_processing) succeeds or is declined.</summary>
    public Task SettleAsync(string paymentIntentId, bool succeed = true) =>
        PostAsync($"/_sim/payment_intents/{paymentIntentId}/settle", new { outcome = succeed ? "succeed" : "fail" });

    /// <summary>POST /_sim/refunds/{id}/settle: a refund succeeds (pending), fails (pending or succeeded) or is canceled (pending) now.</summary>
    public Task SettleRefundAsync(string refundId, string outcome, string? failureReason = null) =>
        PostAsync($"/_sim/refunds/{refundId}/settle", failureReason is null ? new { outcome } : new { outcome, failure_reason = failureReason });

    /// <summary>POST /_sim/clock/advance: pspsim's clock jumps forward; what fell due (expiries, async refunds) happens before it answers.</summary>
    public Task AdvanceClockAsync(TimeSpan by) => PostAsync("/_sim/clock/advance", new { seconds = (long)by.TotalSeconds });

    private async Task PostAsync(string path, object body)
    {
        using var response = await _control.PostAsJsonAsync(path, body);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"pspsim {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        _control.Dispose();
        try { Directory.Delete(DataDir, recursive: true); }
        catch (IOException) { }
    }
}

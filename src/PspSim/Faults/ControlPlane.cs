using System.Text.Json;
using PspSim.Api;
using PspSim.Clock;
using PspSim.PaymentIntents;
using PspSim.Refunds;
using PspSim.Storage;
using PspSim.Stripe;
using PspSim.ThreeDSecure;
using PspSim.Webhooks;

namespace PspSim.Faults;

/// <summary>
/// The sandbox's own control plane under /_sim (not Stripe's API; no API key): latency, faults,
/// reset, completing a 3-D Secure step (also /_sim/3ds), webhook delivery faults and attempts (/_sim/webhooks). Bad input → 400 application/problem+json.
/// </summary>
public static class ControlPlane
{
    private const int MaxBodyBytes = 16 * 1024;
    private static readonly HashSet<string> LatencyKeys = ["fixed_ms", "jitter_ms"];
    private static readonly HashSet<string> FaultKeys = ["mode", "probability", "count", "path_prefix", "method", "duration_ms"];
    /// <summary>Longest a hold_key fault may hold a key: past it a client has long given up.</summary>
    private const int MaxHoldMs = 60_000;
    private static readonly HashSet<string> Methods = ["GET", "POST", "DELETE"];
    private static readonly HashSet<string> AuthenticateKeys = ["outcome"];
    private static readonly HashSet<string> RefundSettleKeys = ["outcome", "failure_reason"];
    private static readonly HashSet<string> ClockKeys = ["seconds"];

    public static void Map(WebApplication app)
    {
        var sim = app.MapGroup("/_sim");
        sim.MapPost("/latency", async (HttpContext ctx, FaultBoard board, ILogger<FaultBoard> log) =>
        {
            var (json, problem) = await ReadObjectAsync(ctx, LatencyKeys);
            if (problem is not null) return problem;
            var fixedMs = Int(json, "fixed_ms", 0, 60_000, out var p1) ?? 0;
            var jitterMs = Int(json, "jitter_ms", 0, 60_000, out var p2) ?? 0;
            if ((p1 ?? p2) is { } bad) return bad;
            board.Latency = new Latency(fixedMs, jitterMs);
            log.LogInformation("latency set: fixed {FixedMs} ms, jitter {JitterMs} ms", fixedMs, jitterMs);
            return Results.Ok(new { fixed_ms = fixedMs, jitter_ms = jitterMs });
        });
        sim.MapPost("/faults", async (HttpContext ctx, FaultBoard board, ILogger<FaultBoard> log) =>
        {
            var (json, problem) = await ReadObjectAsync(ctx, FaultKeys);
            if (problem is not null) return problem;
            if (!json.TryGetProperty("mode", out var modeEl) || modeEl.ValueKind != JsonValueKind.String || !FaultModes.All.Contains(modeEl.GetString()!))
                return Problem("mode is required: one of " + string.Join(", ", FaultModes.All.Order(StringComparer.Ordinal)));
            double probability = 1;
            if (json.TryGetProperty("probability", out var probEl) && probEl.ValueKind != JsonValueKind.Null)
            {
                if (probEl.ValueKind != JsonValueKind.Number || !probEl.TryGetDouble(out probability) || probability is < 0 or > 1)
                    return Problem("probability must be a number from 0 to 1");
            }
            var count = Int(json, "count", 1, 1_000_000, out var countProblem);
            if (countProblem is not null) return countProblem;
            string? prefix = null;
            if (json.TryGetProperty("path_prefix", out var prefixEl) && prefixEl.ValueKind != JsonValueKind.Null)
            {
                prefix = prefixEl.ValueKind == JsonValueKind.String ? prefixEl.GetString() : null;
                if (prefix is null || !prefix.StartsWith('/') || prefix.Length > 200) return Problem("path_prefix must be a string starting with / (at most 200 characters)");
            }
            string? method = null;
            if (json.TryGetProperty("method", out var methodEl) && methodEl.ValueKind != JsonValueKind.Null)
            {
                method = methodEl.ValueKind == JsonValueKind.String ? methodEl.GetString()!.ToUpperInvariant() : null;
                if (method is null || !Methods.Contains(method)) return Problem("method must be one of GET, POST, DELETE");
            }
            var durationMs = Int(json, "duration_ms", 1, MaxHoldMs, out var durationProblem);
            if (durationProblem is not null) return durationProblem;
            var holds = modeEl.GetString() == FaultModes.HoldKey;
            if (holds != durationMs.HasValue) return Problem("duration_ms is required for hold_key and only for it");
            Fault fault;
            try { fault = board.Add(modeEl.GetString()!, probability, count, prefix, method, durationMs); }
            catch (InvalidOperationException e) { return Problem(e.Message); }
            log.LogInformation("fault added: {Mode} p={Probability} count={Count} path={Path} method={Method}", fault.Mode, fault.Probability, fault.Remaining, fault.PathPrefix, fault.Method);
            return Results.Json(Render(fault), statusCode: 201);
        });
        sim.MapGet("/faults", (FaultBoard board) =>
        {
            var l = board.Latency;
            return Results.Ok(new { faults = board.Active().Select(Render), latency = new { fixed_ms = l.FixedMs, jitter_ms = l.JitterMs } });
        });
        sim.MapPost("/reset", (FaultBoard board, DeliveryFaultBoard deliveryFaults, WebhookDelivery webhooks, ILogger<FaultBoard> log) =>
        {
            board.Reset();
            deliveryFaults.Reset();
            webhooks.ReleaseHeld();
            log.LogInformation("faults, delivery faults and latency reset");
            return Results.Ok(new { faults = Array.Empty<object>(), latency = new { fixed_ms = 0, jitter_ms = 0 } });
        });
        sim.MapPost("/payment_intents/{id}/authenticate", (HttpContext ctx, string id, SimStore store, PspSimOptions options) =>
            CompleteAsync(ctx, id, store, options, PiStatus.RequiresAction));
        sim.MapPost("/payment_intents/{id}/settle", (HttpContext ctx, string id, SimStore store, PspSimOptions options) =>
            CompleteAsync(ctx, id, store, options, PiStatus.Processing));
        sim.MapPost("/refunds/{id}/settle", SettleRefundAsync);
        WebhookControlPlane.Map(sim);
        BalanceTransactions.BalanceTransactionControls.Map(sim);
        ThreeDSecurePage.Map(sim);
        // What an engineer asks when pspsim pauses: how big the journal is and what the last compaction cost.
        sim.MapGet("/storage", (SimStore store) => Results.Ok(new
        {
            compactions = store.Compactions,
            last_compaction = store.LastCompaction is { } c
                ? new { generation = c.Generation, objects = c.Objects, evicted = c.Evicted, eviction_rows_examined = c.EvictionRowsExamined, snapshot_bytes = c.SnapshotBytes,
                        longest_lock_hold_ms = Math.Round(c.LongestLockHoldMs, 1), elapsed_ms = Math.Round(c.ElapsedMs, 1) }
                : null,
            last_compaction_error = store.LastCompactionError?.Message,
        }));
        sim.MapGet("/clock", (SimClock clock) => Results.Ok(new { now = clock.GetUtcNow().ToUnixTimeSeconds(), offset_seconds = clock.OffsetSeconds }));
        sim.MapPost("/clock/advance", async (HttpContext ctx, SimClock clock, SimStore store, PspSimOptions options, ILogger<FaultBoard> log) =>
        {
            var (json, problem) = await ReadObjectAsync(ctx, ClockKeys);
            if (problem is not null) return problem;
            if (!json.TryGetProperty("seconds", out var el) || el.ValueKind != JsonValueKind.Number || !el.TryGetInt64(out var seconds)
                || seconds is < 1 or > SimClock.MaxAdvanceSeconds)
                return Problem($"seconds must be an integer from 1 to {SimClock.MaxAdvanceSeconds}");
            clock.Advance(seconds);
            // What fell due in the skipped time happens before the answer, so a test sees it at once.
            var changed = DueChanges.RunAll(store, options.MaxDueChangesPerTick, options);
            log.LogInformation("clock advanced {Seconds} s (offset {Offset} s), {Changed} due changes", seconds, clock.OffsetSeconds, changed);
            return Results.Ok(new { now = clock.GetUtcNow().ToUnixTimeSeconds(), offset_seconds = clock.OffsetSeconds });
        });
    }

    /// <summary>POST /_sim/refunds/{id}/settle {"outcome": "succeeded"|"failed"|"canceled", "failure_reason"}: answers the refund.</summary>
    private static async Task<IResult> SettleRefundAsync(HttpContext ctx, string id, SimStore store)
    {
        var (json, problem) = await ReadObjectAsync(ctx, RefundSettleKeys);
        if (problem is not null) return problem;
        var outcome = json.TryGetProperty("outcome", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString() : null;
        if (outcome is not (RefundStatus.Succeeded or RefundStatus.Failed or RefundStatus.Canceled))
            return Problem("outcome must be succeeded, failed or canceled");
        string? reason = null;
        if (json.TryGetProperty("failure_reason", out var fr) && fr.ValueKind != JsonValueKind.Null)
        {
            reason = fr.ValueKind == JsonValueKind.String ? fr.GetString() : null;
            if (outcome != RefundStatus.Failed || reason is null || !RefundLifecycle.FailureReasons.Contains(reason))
                return Problem("failure_reason goes with outcome failed only: one of " + string.Join(", ", RefundLifecycle.FailureReasons.Order(StringComparer.Ordinal)));
        }
        ApiResult result;
        try { result = RefundEndpoints.Settle(store, id, outcome, reason); }
        catch (StripeApiException e) { result = ApiResult.Error(e); }
        return Results.Text(result.Json, "application/json", statusCode: result.Status);
    }

    private static async Task<IResult> CompleteAsync(HttpContext ctx, string id, SimStore store, PspSimOptions options, string expectedStatus)
    {
        var (json, problem) = await ReadObjectAsync(ctx, AuthenticateKeys, allowEmpty: true);
        if (problem is not null) return problem;
        var outcome = "succeed";
        if (json.ValueKind == JsonValueKind.Object && json.TryGetProperty("outcome", out var o))
            outcome = o.ValueKind == JsonValueKind.String ? o.GetString() : null;
        if (outcome is not ("succeed" or "fail")) return Problem("outcome must be succeed or fail");
        ApiResult result;
        try { result = PaymentIntentEndpoints.Complete(store, options, id, outcome == "succeed", expectedStatus); }
        catch (StripeApiException e) { result = ApiResult.Error(e); }
        // A failed settlement answers the intent too (200): the control call itself worked.
        var body = result.Status == 402 ? result.Body["error"]!["payment_intent"]!.ToJsonString() : result.Json;
        return Results.Text(body, "application/json", statusCode: result.Status == 402 ? 200 : result.Status);
    }

    private static object Render(Fault f) => new
    {
        id = f.Id, mode = f.Mode, probability = f.Probability, count = f.Remaining, path_prefix = f.PathPrefix, method = f.Method,
        duration_ms = f.DurationMs,
    };

    internal static IResult Problem(string detail) => Results.Problem(
        detail: detail, statusCode: 400, title: "Invalid control-plane request", type: "https://payrail.dev/problems/pspsim-invalid-control-request");

    internal static async Task<(JsonElement Json, IResult? Problem)> ReadObjectAsync(HttpContext ctx, IReadOnlySet<string> allowed, bool allowEmpty = false)
    {
        if (ctx.Request.ContentLength > MaxBodyBytes) return (default, Problem($"body larger than {MaxBodyBytes} bytes"));
        using var reader = new StreamReader(ctx.Request.Body);
        var buffer = new char[MaxBodyBytes + 1];
        var read = await reader.ReadBlockAsync(buffer.AsMemory(), ctx.RequestAborted);
        if (read > MaxBodyBytes) return (default, Problem($"body larger than {MaxBodyBytes} bytes"));
        var text = new string(buffer, 0, read);
        if (string.IsNullOrWhiteSpace(text)) return allowEmpty ? (default, null) : (default, Problem("a JSON object body is required"));
        JsonElement json;
        try { json = JsonDocument.Parse(text).RootElement; }
        catch (JsonException) { return (default, Problem("body is not valid JSON")); }
        if (json.ValueKind != JsonValueKind.Object) return (default, Problem("body must be a JSON object"));
        foreach (var prop in json.EnumerateObject())
            if (!allowed.Contains(prop.Name)) return (default, Problem($"unknown field: {prop.Name}"));
        return (json, null);
    }

    internal static int? Int(JsonElement json, string name, int min, int max, out IResult? problem)
    {
        problem = null;
        if (!json.TryGetProperty(name, out var el) || el.ValueKind == JsonValueKind.Null) return null;
        if (el.ValueKind != JsonValueKind.Number || !el.TryGetInt32(out var v) || v < min || v > max)
        {
            problem = Problem($"{name} must be an integer from {min} to {max}");
            return null;
        }
        return v;
    }
}

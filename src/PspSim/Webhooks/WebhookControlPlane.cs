using System.Text.Json;
using PspSim.Faults;

namespace PspSim.Webhooks;

/// <summary>
/// /_sim/webhooks: delivery faults (duplicate, reorder, delay, drop) in the style of /_sim/faults, and the attempts made.
/// </summary>
public static class WebhookControlPlane
{
    private static readonly HashSet<string> FaultKeys =
        ["mode", "probability", "count", "event_type", "copies", "delay_ms", "release_after", "max_hold_ms"];
    private const int MaxAttemptsListed = 10_000;
    private const int DefaultAttemptsListed = 1_000;

    public static void Map(RouteGroupBuilder sim)
    {
        sim.MapPost("/webhooks/faults", AddFaultAsync);
        sim.MapGet("/webhooks/faults", (DeliveryFaultBoard board) => Results.Ok(new { faults = board.Active().Select(Render) }));
        sim.MapDelete("/webhooks/faults", (DeliveryFaultBoard board, WebhookDelivery delivery) =>
        {
            board.Reset();
            delivery.ReleaseHeld();
            return Results.Ok(new { faults = Array.Empty<object>() });
        });
        sim.MapPost("/webhooks/release", (WebhookDelivery delivery) =>
        {
            delivery.ReleaseHeld();
            return Results.Ok(new { released = true });
        });
        sim.MapGet("/webhooks/attempts", (WebhookDelivery delivery, string? event_id, string? endpoint, int? limit) =>
        {
            if (limit is < 1 or > MaxAttemptsListed) return ControlPlane.Problem($"limit must be an integer from 1 to {MaxAttemptsListed}");
            var attempts = delivery.Attempts.Find(event_id, endpoint, limit ?? DefaultAttemptsListed);
            return Results.Ok(new { attempts = attempts.Select(Render), pending = delivery.Pending });
        });
    }

    /// <summary>
    /// POST /_sim/webhooks/faults {"mode", "probability" 0..1 (1), "count" ≥ 1 (unlimited), "event_type" (exact or
    /// prefix*), "copies" 2..10 (duplicate, 2), "delay_ms" (delay, required), "release_after" ≥ 1 (reorder, 1),
    /// "max_hold_ms" (reorder, 10000)} → 201.
    /// </summary>
    private static async Task<IResult> AddFaultAsync(HttpContext ctx, DeliveryFaultBoard board, ILogger<DeliveryFaultBoard> log)
    {
        var (json, problem) = await ControlPlane.ReadObjectAsync(ctx, FaultKeys);
        if (problem is not null) return problem;
        if (!json.TryGetProperty("mode", out var modeEl) || modeEl.ValueKind != JsonValueKind.String || !DeliveryFaultModes.All.Contains(modeEl.GetString()!))
            return ControlPlane.Problem("mode is required: one of " + string.Join(", ", DeliveryFaultModes.All.Order(StringComparer.Ordinal)));
        var mode = modeEl.GetString()!;
        double probability = 1;
        if (json.TryGetProperty("probability", out var probEl) && probEl.ValueKind != JsonValueKind.Null
            && (probEl.ValueKind != JsonValueKind.Number || !probEl.TryGetDouble(out probability) || probability is < 0 or > 1))
            return ControlPlane.Problem("probability must be a number from 0 to 1");
        var count = ControlPlane.Int(json, "count", 1, 1_000_000, out var p1);
        var copies = ControlPlane.Int(json, "copies", 2, DeliveryFaultBoard.MaxCopies, out var p2);
        var delayMs = ControlPlane.Int(json, "delay_ms", 0, DeliveryFaultBoard.MaxDelayMs, out var p3);
        var releaseAfter = ControlPlane.Int(json, "release_after", 1, DeliveryFaultBoard.MaxReleaseAfter, out var p4);
        var maxHoldMs = ControlPlane.Int(json, "max_hold_ms", 1, DeliveryFaultBoard.MaxHoldMs, out var p5);
        if ((p1 ?? p2 ?? p3 ?? p4 ?? p5) is { } bad) return bad;
        string? eventType = null;
        if (json.TryGetProperty("event_type", out var typeEl) && typeEl.ValueKind != JsonValueKind.Null)
        {
            eventType = typeEl.ValueKind == JsonValueKind.String ? typeEl.GetString() : null;
            if (string.IsNullOrEmpty(eventType) || eventType.Length > 100) return ControlPlane.Problem("event_type must be an event type (a trailing * matches a prefix)");
        }
        if (copies is not null && mode != DeliveryFaultModes.Duplicate) return ControlPlane.Problem("copies goes with mode duplicate only");
        if ((delayMs is not null) != (mode == DeliveryFaultModes.Delay)) return ControlPlane.Problem("delay_ms is required for mode delay and only for it");
        if ((releaseAfter ?? maxHoldMs) is not null && mode != DeliveryFaultModes.Reorder)
            return ControlPlane.Problem("release_after and max_hold_ms go with mode reorder only");
        DeliveryFault fault;
        try
        {
            fault = board.Add(mode, probability, count, eventType, copies ?? 2, delayMs ?? 0, releaseAfter ?? 1,
                maxHoldMs ?? DeliveryFaultBoard.DefaultMaxHoldMs);
        }
        catch (InvalidOperationException e) { return ControlPlane.Problem(e.Message); }
        log.LogInformation("delivery fault added: {Mode} p={Probability} count={Count} type={EventType}", fault.Mode, fault.Probability, fault.Remaining, fault.EventType);
        return Results.Json(Render(fault), statusCode: 201);
    }

    private static object Render(DeliveryFault f) => new
    {
        id = f.Id, mode = f.Mode, probability = f.Probability, count = f.Remaining, event_type = f.EventType,
        copies = f.Mode == DeliveryFaultModes.Duplicate ? f.Copies : (int?)null,
        delay_ms = f.Mode == DeliveryFaultModes.Delay ? f.DelayMs : (int?)null,
        release_after = f.Mode == DeliveryFaultModes.Reorder ? f.ReleaseAfter : (int?)null,
        max_hold_ms = f.Mode == DeliveryFaultModes.Reorder ? f.MaxHoldMs : (int?)null,
    };

    private static object Render(DeliveryAttempt a) => new
    {
        event_id = a.EventId, event_type = a.EventType, endpoint = a.EndpointId, url = a.Url, attempt = a.Attempt, copy = a.Copy,
        status = a.Status, outcome = a.Outcome, error = a.Error, at_ms = a.AtMs, elapsed_ms = a.ElapsedMs,
        next_attempt_in_ms = a.NextAttemptInMs, gave_up = a.GaveUp,
    };
}

using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Payrail.Testing;

namespace PspSim.Tests;

/// <summary>One request the receiver got: the raw body and Stripe-Signature header, as a merchant's endpoint sees them.</summary>
public sealed record ReceivedWebhook(int Index, string Body, string Signature, string EventId, string EventType, DateTimeOffset At)
{
    public JsonElement Object => JsonDocument.Parse(Body).RootElement.GetProperty("data").GetProperty("object");
}

/// <summary>
/// A real HTTP endpoint (Kestrel on a free loopback port) that records every POST and answers what the test decides
/// (200 by default; a status, or a hang longer than pspsim's timeout).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();
    private int _count;

    /// <summary>What to answer a request (given what it carried); null means: hang until pspsim gives up.</summary>
    public Func<ReceivedWebhook, int?> Answer { get; set; } = _ => 200;
    public int Port { get; } = FreePort.Next();
    public string Url => $"http://127.0.0.1:{Port}/webhooks/stripe";
    public IReadOnlyList<ReceivedWebhook> Received => [.. _received.OrderBy(r => r.Index)];

    private WebhookReceiver()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{Port}");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/webhooks/stripe", async (HttpContext ctx) =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            var body = await reader.ReadToEndAsync();
            var root = JsonDocument.Parse(body).RootElement;
            var received = new ReceivedWebhook(Interlocked.Increment(ref _count), body, ctx.Request.Headers["Stripe-Signature"].ToString(),
                root.GetProperty("id").GetString()!, root.GetProperty("type").GetString()!, DateTimeOffset.UtcNow);
            _received.Enqueue(received);
            if (Answer(received) is { } status) return Results.StatusCode(status);
            try { await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted); }
            catch (OperationCanceledException) { }
            return Results.StatusCode(200);
        });
    }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver();
        await receiver._app.StartAsync();
        return receiver;
    }

    public IReadOnlyList<ReceivedWebhook> Of(string eventType) => Received.Where(r => r.EventType == eventType).ToList();

    public async ValueTask DisposeAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(deadline.Token);
        await _app.DisposeAsync();
    }
}

using System.Net.Http.Json;
using System.Text.Json;
using Payrail.Testing;
using Stripe;

namespace PspSim.Tests;

/// <summary>A pspsim of its own for one webhook test (delivery faults are global), with fast retries, and a receiver.</summary>
public sealed class WebhookSim : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    public required PspSimFixture Psp { get; init; }
    public required WebhookReceiver Receiver { get; init; }
    public StripeClient Client => Sim.Client(Psp);

    /// <summary>Retries compressed (1 min → 30 ms), a 5 s answer budget (the machine may be busy); <paramref name="extraArgs"/> on top.</summary>
    public static async Task<WebhookSim> StartAsync(params string[] extraArgs)
    {
        var psp = new PspSimFixture();
        psp.ExtraArgs.AddRange(["--PspSim:WebhookRetryScale=0.0005", "--PspSim:WebhookTimeoutMs=5000", .. extraArgs]);
        await psp.InitializeAsync();
        return new WebhookSim { Psp = psp, Receiver = await WebhookReceiver.StartAsync() };
    }

    /// <summary>Registers the receiver through Stripe.net, as a merchant would; returns the endpoint with its secret.</summary>
    public Task<WebhookEndpoint> RegisterAsync(params string[] enabledEvents) =>
        new WebhookEndpointService(Client).CreateAsync(new WebhookEndpointCreateOptions
        {
            Url = Receiver.Url, EnabledEvents = enabledEvents.Length == 0 ? ["*"] : [.. enabledEvents],
        });

    public Task<PaymentIntent> PayAsync(long amount = 2_000, string paymentMethod = "pm_card_visa", string captureMethod = "automatic") =>
        new PaymentIntentService(Client).CreateAsync(Sim.Card(amount, paymentMethod, captureMethod: captureMethod));

    /// <summary>POST /_sim/webhooks/faults.</summary>
    public async Task AddDeliveryFaultAsync(object fault)
    {
        using var http = Sim.Raw(Psp, "");
        using var response = await http.PostAsJsonAsync("/_sim/webhooks/faults", fault);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException(await response.Content.ReadAsStringAsync());
    }

    /// <summary>GET /_sim/webhooks/attempts for one event.</summary>
    public async Task<List<JsonElement>> AttemptsAsync(string eventId)
    {
        using var http = Sim.Raw(Psp, "");
        var json = await http.GetFromJsonAsync<JsonElement>($"/_sim/webhooks/attempts?event_id={eventId}");
        return [.. json.GetProperty("attempts").EnumerateArray()];
    }

    /// <summary>The raw body GET /v1/events/{id} answers.</summary>
    public async Task<string> EventBodyAsync(string eventId)
    {
        using var http = Sim.Raw(Psp);
        return await http.GetStringAsync($"/v1/events/{eventId}");
    }

    public Task UntilReceivedAsync(string eventType, int count = 1) =>
        Eventually.TrueAsync(() => Receiver.Of(eventType).Count >= count, Deadline, $"{count} × {eventType} delivered");

    public async ValueTask DisposeAsync()
    {
        await Psp.DisposeAsync();
        await Receiver.DisposeAsync();
    }
}

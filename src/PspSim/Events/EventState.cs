using PspSim.Storage;

namespace PspSim.Events;

public sealed class EventState : IStored
{
    public required string Id { get; init; }
    public required long Created { get; init; }
    public required string Type { get; init; }
    /// <summary>Snapshot of the object when the event happened (Stripe's data.object), as JSON text: far smaller in memory than a DOM.</summary>
    [System.Text.Json.Serialization.JsonConverter(typeof(RawJsonConverter))]
    public required string Object { get; init; }
    /// <summary>Stripe's data.previous_attributes on *.updated events: the changed fields' old values, as JSON text.</summary>
    [System.Text.Json.Serialization.JsonConverter(typeof(RawJsonConverter))]
    public string? PreviousAttributes { get; init; }
    public string? RequestId { get; init; }
    public string? IdempotencyKey { get; init; }

    private int _pendingWebhooks;
    /// <summary>
    /// Stripe's pending_webhooks: endpoints this event is still to be delivered to (2xx not yet received). In memory
    /// only: deliveries do not survive a restart, so a replayed event has none pending.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int PendingWebhooks => Volatile.Read(ref _pendingWebhooks);
    public void AddPendingWebhook() => Interlocked.Increment(ref _pendingWebhooks);
    public void WebhookDelivered() => Interlocked.Decrement(ref _pendingWebhooks);
}

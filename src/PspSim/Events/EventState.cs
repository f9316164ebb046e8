using System.Text.Json.Nodes;
using PspSim.Storage;

namespace PspSim.Events;

public sealed class EventState : IStored
{
    public required string Id { get; init; }
    public required long Created { get; init; }
    public required string Type { get; init; }
    /// <summary>Snapshot of the object when the event happened (Stripe's data.object).</summary>
    public required JsonObject Object { get; init; }
    public JsonObject? PreviousAttributes { get; init; }
    public string? RequestId { get; init; }
    public string? IdempotencyKey { get; init; }
}

using System.Text.Json.Nodes;

namespace PspSim.Events;

/// <summary>Stripe's data.previous_attributes: for each top-level field that changed, its value before the change.</summary>
public static class PreviousAttributes
{
    /// <summary>The old values of the fields whose value differs between the two snapshots of one object.</summary>
    public static JsonObject Of(JsonObject before, JsonObject after)
    {
        var previous = new JsonObject();
        foreach (var (name, old) in before)
            if (!JsonNode.DeepEquals(old, after[name])) previous[name] = old?.DeepClone();
        return previous;
    }
}

using System.Text.Json.Nodes;
using PspSim.Storage;
using PspSim.Stripe;

namespace PspSim.Tests.Oracle;

/// <summary>pspsim's former expand[] on node trees, verbatim (the oracle of the writer's inline expansion).</summary>
public static class TreeExpander
{
    private static readonly HashSet<string> Expandable = ["latest_charge", "balance_transaction", "charge", "payment_intent", "source", "failure_balance_transaction"];

    public static void Apply(JsonObject root, IReadOnlyList<string> paths, SimStore store, long now, bool isList = false)
    {
        foreach (var path in paths)
        {
            var segments = path.Split('.');
            if (isList)
            {
                if (segments.Length < 2 || segments[0] != "data")
                    throw StripeApiException.Invalid($"This property cannot be expanded ({path}). You may want to try expanding 'data.{path}' instead.", "expand");
                foreach (var item in root["data"]!.AsArray())
                    Expand(item!.AsObject(), segments[1..], path, store, now);
            }
            else Expand(root, segments, path, store, now);
        }
    }

    private static void Expand(JsonObject obj, string[] segments, string path, SimStore store, long now)
    {
        if (segments.Length > 4) throw StripeApiException.Invalid($"You cannot expand more than 4 levels of a property. Property: {path}", "expand");
        var field = segments[0];
        if (!Expandable.Contains(field) || !obj.ContainsKey(field))
            throw StripeApiException.Invalid($"This property cannot be expanded ({path}).", "expand");
        var current = obj[field];
        if (current is JsonValue v && v.TryGetValue<string>(out var id))
        {
            current = Resolve(id, store, now);
            obj[field] = current;
        }
        if (segments.Length > 1 && current is JsonObject child) Expand(child, segments[1..], path, store, now);
    }

    private static JsonObject? Resolve(string id, SimStore store, long now) => id switch
    {
        _ when id.StartsWith("ch_", StringComparison.Ordinal) && store.Charges.Find(id) is { } ch => TreeStripeJson.Charge(ch),
        _ when id.StartsWith("pi_", StringComparison.Ordinal) && store.PaymentIntents.Find(id) is { } pi => TreeStripeJson.PaymentIntent(pi),
        _ when id.StartsWith("re_", StringComparison.Ordinal) && store.Refunds.Find(id) is { } re => TreeStripeJson.Refund(re),
        _ when id.StartsWith("txn_", StringComparison.Ordinal) && store.BalanceTransactions.Find(id) is { } t => TreeStripeJson.BalanceTransaction(t, now),
        _ => null,
    };
}

using System.Text.Json.Nodes;
using PspSim.Storage;

namespace PspSim.Stripe;

/// <summary>Stripe's expand[]: replaces id strings at dotted paths with the objects (up to 4 levels).</summary>
public static class Expander
{
    private static readonly HashSet<string> Expandable = ["latest_charge", "balance_transaction", "charge", "payment_intent", "source", "failure_balance_transaction"];

    // Which fields of which object may be expanded, and what they expand into.
    private static readonly Dictionary<string, Dictionary<string, string>> Graph = new()
    {
        ["payment_intent"] = new() { ["latest_charge"] = "charge" },
        ["charge"] = new() { ["balance_transaction"] = "balance_transaction", ["payment_intent"] = "payment_intent" },
        ["refund"] = new()
        {
            ["balance_transaction"] = "balance_transaction", ["charge"] = "charge", ["payment_intent"] = "payment_intent",
            ["failure_balance_transaction"] = "balance_transaction",
        },
        ["balance_transaction"] = new() { ["source"] = "source" },
        ["payout"] = new() { ["balance_transaction"] = "balance_transaction" },
        ["source"] = new(),
        ["event"] = new(),
    };

    /// <summary>Reads expand[] and checks every path before anything runs (a bad path must not write anything).</summary>
    public static IReadOnlyList<string> Parse(FormParams p, string objectType, bool isList = false)
    {
        var paths = p.List("expand", 20);
        foreach (var path in paths)
        {
            var segments = path.Split('.');
            if (isList)
            {
                if (segments.Length < 2 || segments[0] != "data")
                    throw StripeApiException.Invalid($"This property cannot be expanded ({path}). You may want to try expanding 'data.{path}' instead.", "expand");
                segments = segments[1..];
            }
            if (segments.Length > 4) throw StripeApiException.Invalid($"You cannot expand more than 4 levels of a property. Property: {path}", "expand");
            var type = objectType;
            foreach (var segment in segments)
            {
                if (!Graph[type].TryGetValue(segment, out var next))
                    throw StripeApiException.Invalid($"This property cannot be expanded ({path}).", "expand");
                type = next;
            }
        }
        return paths;
    }

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
        _ when id.StartsWith("ch_", StringComparison.Ordinal) && store.Charges.Find(id) is { } ch => StripeJson.Charge(ch),
        _ when id.StartsWith("pi_", StringComparison.Ordinal) && store.PaymentIntents.Find(id) is { } pi => StripeJson.PaymentIntent(pi),
        _ when id.StartsWith("re_", StringComparison.Ordinal) && store.Refunds.Find(id) is { } re => StripeJson.Refund(re),
        _ when id.StartsWith("txn_", StringComparison.Ordinal) && store.BalanceTransactions.Find(id) is { } t => StripeJson.BalanceTransaction(t, now),
        _ => null,
    };
}

namespace PspSim.Stripe;

/// <summary>Stripe's expand[]: checks the dotted paths (up to 4 levels); <see cref="Expansion"/> writes them.</summary>
public static class Expander
{
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
}

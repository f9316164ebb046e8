using System.Text.Json.Nodes;

namespace PspSim.Faults;

/// <summary>
/// The tamper_* faults: a PaymentIntent answer that disagrees with the request, as a buggy or hostile
/// PSP (or something in between) could send. Only the answer on the wire changes; the stored state
/// and the stored idempotent answer stay right, so a later replay tells the truth.
/// </summary>
public static class AnswerTampering
{
    public static bool IsTampering(string mode) =>
        mode is FaultModes.TamperAmount or FaultModes.TamperAmountReceived or FaultModes.TamperCurrency;

    /// <summary>The answer body with the fault applied; other answers (errors, other objects) unchanged.</summary>
    public static string Apply(string mode, int status, string json)
    {
        if (status != 200 || JsonNode.Parse(json) is not JsonObject intent || (string?)intent["object"] != "payment_intent") return json;
        var amount = (long?)intent["amount"] ?? 0;
        var charge = intent["latest_charge"] as JsonObject;
        switch (mode)
        {
            case FaultModes.TamperAmount:
                intent["amount"] = amount + 1;
                break;
            case FaultModes.TamperAmountReceived:
                intent["amount_received"] = amount + 1;
                if (charge is not null) charge["amount_captured"] = amount + 1;
                break;
            case FaultModes.TamperCurrency:
                var other = (string?)intent["currency"] == "usd" ? "eur" : "usd";
                intent["currency"] = other;
                if (charge is not null) charge["currency"] = other;
                break;
            default:
                return json;
        }
        return intent.ToJsonString();
    }
}

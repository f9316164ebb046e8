using System.Text.Json;
using System.Text.Json.Nodes;
using PspSim.Api;
using PspSim.BalanceTransactions;
using PspSim.Events;
using PspSim.PaymentIntents;
using PspSim.Refunds;

namespace PspSim.Stripe;

/// <summary>Stripe's object shapes (the fields Stripe.net reads; unmodelled ones are null like in test mode).</summary>
public static class StripeJson
{
    /// <summary>The API version Stripe.net 53.1.0 pins; events carry it.</summary>
    public const string ApiVersion = "2026-10-28.endive";

    // The tree forms (for events, previous_attributes and the answers an endpoint still edits) are read back from the
    // one writer of each kind, so they cannot drift from what the tree-free answers send.
    public static JsonObject PaymentIntent(PaymentIntentState pi) => Tree(w => StripeWriter.PaymentIntent(w, pi, Expansion.None));

    public static JsonObject Charge(ChargeState ch) => Tree(w => StripeWriter.Charge(w, ch, Expansion.None));

    public static JsonObject Refund(RefundState re) => Tree(w => StripeWriter.Refund(w, re, Expansion.None));

    public static JsonObject BalanceTransaction(BalanceTransactionState t, long now) =>
        Tree(w => StripeWriter.BalanceTransaction(w, t, now, Expansion.None));

    public static JsonObject Payout(Payouts.PayoutState p) => Tree(w => StripeWriter.Payout(w, p, Expansion.None));

    private static JsonObject Tree(Action<Utf8JsonWriter> write)
    {
        using var json = PooledJson.Write(write);
        return JsonNode.Parse(json.Written.Span)!.AsObject();
    }

    public static JsonObject Event(EventState e) => new()
    {
        ["id"] = e.Id,
        ["object"] = "event",
        ["api_version"] = ApiVersion,
        ["created"] = e.Created,
        ["data"] = e.PreviousAttributes is null
            ? new JsonObject { ["object"] = JsonNode.Parse(e.Object) }
            : new JsonObject { ["object"] = JsonNode.Parse(e.Object), ["previous_attributes"] = JsonNode.Parse(e.PreviousAttributes) },
        ["livemode"] = false,
        ["pending_webhooks"] = e.PendingWebhooks,
        ["request"] = new JsonObject { ["id"] = e.RequestId, ["idempotency_key"] = e.IdempotencyKey },
        ["type"] = e.Type,
    };

    public static JsonObject List(string url, IEnumerable<JsonObject> data, bool hasMore) => new()
    {
        ["object"] = "list",
        ["data"] = new JsonArray(data.Cast<JsonNode?>().ToArray()),
        ["has_more"] = hasMore,
        ["url"] = url,
    };
}

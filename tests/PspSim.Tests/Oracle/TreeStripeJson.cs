using System.Text.Json.Nodes;
using PspSim.BalanceTransactions;
using PspSim.PaymentIntents;
using PspSim.Refunds;
using PspSim.Stripe;

namespace PspSim.Tests.Oracle;

/// <summary>
/// The node-tree builders pspsim wrote its objects with before StripeWriter, kept verbatim as the oracle the writer's
/// bytes are pinned against (StripeWriterTests).
/// </summary>
public static class TreeStripeJson
{
    private static JsonObject Meta(Dictionary<string, string> metadata)
    {
        var o = new JsonObject();
        foreach (var (k, v) in metadata) o[k] = v;
        return o;
    }

    public static JsonObject PaymentIntent(PaymentIntentState pi) => new()
    {
        ["id"] = pi.Id,
        ["object"] = "payment_intent",
        ["allowed_payment_method_types"] = pi.AutomaticPaymentMethods ? null : new JsonArray(pi.PaymentMethodTypes.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
        ["amount"] = pi.Amount,
        ["amount_capturable"] = pi.AmountCapturable,
        ["amount_details"] = new JsonObject { ["tip"] = new JsonObject() },
        ["amount_received"] = pi.AmountReceived,
        ["application"] = null,
        ["application_fee_amount"] = null,
        ["automatic_payment_methods"] = pi.AutomaticPaymentMethods
            ? new JsonObject { ["allow_redirects"] = pi.AllowRedirects ?? "always", ["enabled"] = true }
            : null,
        ["canceled_at"] = pi.CanceledAt,
        ["cancellation_reason"] = pi.CancellationReason,
        ["capture_method"] = pi.CaptureMethod,
        ["client_secret"] = pi.ClientSecret,
        ["confirmation_method"] = "automatic",
        ["created"] = pi.Created,
        ["currency"] = pi.Currency,
        ["customer"] = null,
        ["description"] = pi.Description,
        ["last_payment_error"] = pi.LastPaymentError is null ? null : JsonNode.Parse(pi.LastPaymentError),
        ["latest_charge"] = pi.LatestCharge,
        ["livemode"] = false,
        ["metadata"] = Meta(pi.Metadata),
        ["next_action"] = NextAction(pi),
        ["on_behalf_of"] = null,
        ["payment_method"] = pi.PaymentMethod,
        ["payment_method_options"] = new JsonObject
        {
            ["card"] = new JsonObject { ["request_three_d_secure"] = "automatic" },
        },
        ["payment_method_types"] = new JsonArray(pi.PaymentMethodTypes.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
        ["processing"] = null,
        ["receipt_email"] = pi.ReceiptEmail,
        ["review"] = null,
        ["setup_future_usage"] = pi.SetupFutureUsage,
        ["shipping"] = null,
        ["source"] = null,
        ["statement_descriptor"] = pi.StatementDescriptor,
        ["statement_descriptor_suffix"] = pi.StatementDescriptorSuffix,
        ["status"] = pi.Status,
        ["transfer_data"] = null,
        ["transfer_group"] = null,
    };

    /// <summary>
    /// 3-D Secure as Stripe asks for it: a redirect only when the confirm carried a return_url (where the bank sends
    /// the customer back); otherwise an action for Stripe.js or the mobile SDKs, with no URL to redirect to. Either
    /// way POST /_sim/payment_intents/{id}/authenticate stands in for the customer.
    /// </summary>
    private static JsonObject? NextAction(PaymentIntentState pi)
    {
        if (pi.Status != PiStatus.RequiresAction || pi.NextActionUrl is null) return null;
        if (pi.ReturnUrl is not null)
            return new JsonObject
            {
                ["redirect_to_url"] = new JsonObject { ["return_url"] = pi.ReturnUrl, ["url"] = pi.NextActionUrl },
                ["type"] = "redirect_to_url",
            };
        return new JsonObject
        {
            ["type"] = "use_stripe_sdk",
            ["use_stripe_sdk"] = new JsonObject { ["type"] = "three_d_secure_redirect", ["stripe_js"] = pi.NextActionUrl, ["source"] = null },
        };
    }

    public static JsonObject Charge(ChargeState ch) => new()
    {
        ["id"] = ch.Id,
        ["object"] = "charge",
        ["amount"] = ch.Amount,
        ["amount_captured"] = ch.AmountCaptured,
        ["amount_refunded"] = ch.AmountRefunded,
        ["balance_transaction"] = ch.BalanceTransaction,
        ["billing_details"] = new JsonObject { ["address"] = null, ["email"] = null, ["name"] = null, ["phone"] = null },
        ["calculated_statement_descriptor"] = ch.StatementDescriptor ?? "PAYRAIL",
        ["captured"] = ch.Captured,
        ["created"] = ch.Created,
        ["currency"] = ch.Currency,
        ["customer"] = null,
        ["description"] = ch.Description,
        ["disputed"] = false,
        ["failure_balance_transaction"] = null,
        ["failure_code"] = ch.FailureCode,
        ["failure_message"] = ch.FailureMessage,
        ["livemode"] = false,
        ["metadata"] = Meta(ch.Metadata),
        ["outcome"] = ch.Status == "succeeded"
            ? new JsonObject
            {
                ["network_status"] = "approved_by_network", ["reason"] = null, ["risk_level"] = "normal",
                ["seller_message"] = "Payment complete.", ["type"] = "authorized",
            }
            : new JsonObject
            {
                ["network_status"] = "declined_by_network", ["reason"] = ch.DeclineCode, ["risk_level"] = "normal",
                ["seller_message"] = "The bank did not return any further details with this decline.", ["type"] = "issuer_declined",
            },
        ["paid"] = ch.Status == "succeeded",
        ["payment_intent"] = ch.PaymentIntent,
        ["payment_method"] = ch.PaymentMethod,
        ["payment_method_details"] = new JsonObject
        {
            ["card"] = new JsonObject
            {
                ["brand"] = ch.Brand, ["country"] = "US", ["exp_month"] = 12, ["exp_year"] = 2034,
                ["funding"] = "credit", ["last4"] = ch.Last4, ["network"] = ch.Brand,
            }.WithCaptureBefore(ch.CaptureBefore),
            ["type"] = "card",
        },
        ["receipt_url"] = null,
        ["refunded"] = ch.Captured && ch.AmountCaptured > 0 && ch.AmountRefunded >= ch.AmountCaptured,
        ["statement_descriptor"] = ch.StatementDescriptor,
        ["status"] = ch.Status,
    };

    /// <summary>Stripe sends capture_before only on a manual-capture authorization (an optional, non-nullable field).</summary>
    private static JsonObject WithCaptureBefore(this JsonObject card, long? captureBefore)
    {
        if (captureBefore is { } at) card["capture_before"] = at;
        return card;
    }

    public static JsonObject Refund(RefundState re) => new()
    {
        ["id"] = re.Id,
        ["object"] = "refund",
        ["amount"] = re.Amount,
        ["balance_transaction"] = re.BalanceTransaction,
        ["charge"] = re.Charge,
        ["created"] = re.Created,
        ["currency"] = re.Currency,
        ["destination_details"] = new JsonObject
        {
            ["card"] = new JsonObject { ["reference_status"] = "pending", ["reference_type"] = "acquirer_reference_number", ["type"] = "refund" },
            ["type"] = "card",
        },
        ["failure_balance_transaction"] = re.FailureBalanceTransaction,
        ["failure_reason"] = re.FailureReason,
        ["metadata"] = Meta(re.Metadata),
        ["payment_intent"] = re.PaymentIntent,
        ["pending_reason"] = re.Status == Refunds.RefundStatus.Pending ? "processing" : null,
        ["reason"] = re.Reason,
        ["receipt_number"] = null,
        ["source_transfer_reversal"] = null,
        ["status"] = re.Status,
        ["transfer_reversal"] = null,
    };

    public static JsonObject BalanceTransaction(BalanceTransactionState t, long now) => new()
    {
        ["id"] = t.Id,
        ["object"] = "balance_transaction",
        ["amount"] = t.Amount,
        ["available_on"] = t.AvailableOn,
        ["created"] = t.Created,
        ["currency"] = t.Currency,
        ["description"] = t.Description,
        // Stripe sends a JSON number; the exact decimal text of the FX table goes out digit for digit.
        ["exchange_rate"] = t.ExchangeRate is null ? null : JsonNode.Parse(t.ExchangeRate),
        ["fee"] = t.Fee,
        ["fee_details"] = t.Fee == 0
            ? new JsonArray()
            : new JsonArray(new JsonObject
            {
                ["amount"] = t.Fee, ["application"] = null, ["currency"] = t.Currency,
                ["description"] = "Stripe processing fees", ["type"] = "stripe_fee",
            }),
        ["net"] = t.Net,
        ["reporting_category"] = t.ReportingCategory,
        ["source"] = t.Source,
        ["status"] = now >= t.AvailableOn ? "available" : "pending",
        ["type"] = t.Type,
    };

    public static JsonObject Payout(Payouts.PayoutState p) => new()
    {
        ["id"] = p.Id,
        ["object"] = "payout",
        ["amount"] = p.Amount,
        ["application_fee"] = null,
        ["application_fee_amount"] = null,
        ["arrival_date"] = p.ArrivalDate,
        ["automatic"] = true,
        ["balance_transaction"] = p.BalanceTransaction,
        ["created"] = p.Created,
        ["currency"] = p.Currency,
        ["description"] = "STRIPE PAYOUT",
        ["destination"] = null,
        ["failure_balance_transaction"] = null,
        ["failure_code"] = null,
        ["failure_message"] = null,
        ["livemode"] = false,
        ["metadata"] = new JsonObject(),
        ["method"] = "standard",
        ["original_payout"] = null,
        ["reconciliation_status"] = "completed",
        ["reversed_by"] = null,
        ["source_type"] = "card",
        ["statement_descriptor"] = null,
        ["status"] = "paid",
        ["type"] = "bank_account",
    };

    public static JsonObject List(string url, IEnumerable<JsonObject> data, bool hasMore) => new()
    {
        ["object"] = "list",
        ["data"] = new JsonArray(data.Cast<JsonNode?>().ToArray()),
        ["has_more"] = hasMore,
        ["url"] = url,
    };
}

using System.Text.Json;
using System.Text.Json.Nodes;
using PspSim.BalanceTransactions;
using PspSim.PaymentIntents;
using PspSim.Refunds;

namespace PspSim.Stripe;

/// <summary>
/// The one way each Stripe object kind is written: straight to a <see cref="Utf8JsonWriter"/>, with expand[] written
/// inline (<see cref="Expansion"/>). The tree forms of <see cref="StripeJson"/> are read back from these bytes, so an
/// object looks the same from every endpoint. Member order is Stripe's as pspsim always wrote it; the bytes are pinned
/// against the former node-tree builders (PspSim.Tests StripeWriterTests). Measured on reconciliation's read (1,000
/// balance transactions with their charges expanded per 10 pages): building JsonNode trees, replacing ids with trees and
/// serialising them cost ≈ 23 µs of CPU per line, most of pspsim's share of a run.
/// </summary>
public static class StripeWriter
{
    public static void PaymentIntent(Utf8JsonWriter w, PaymentIntentState pi, Expansion x)
    {
        w.WriteStartObject();
        w.WriteString("id", pi.Id);
        w.WriteString("object", "payment_intent");
        w.WritePropertyName("allowed_payment_method_types");
        if (pi.AutomaticPaymentMethods) w.WriteNullValue();
        else Strings(w, pi.PaymentMethodTypes);
        w.WriteNumber("amount", pi.Amount);
        w.WriteNumber("amount_capturable", pi.AmountCapturable);
        w.WriteStartObject("amount_details");
        w.WriteStartObject("tip");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteNumber("amount_received", pi.AmountReceived);
        w.WriteNull("application");
        w.WriteNull("application_fee_amount");
        if (pi.AutomaticPaymentMethods)
        {
            w.WriteStartObject("automatic_payment_methods");
            w.WriteString("allow_redirects", pi.AllowRedirects ?? "always");
            w.WriteBoolean("enabled", true);
            w.WriteEndObject();
        }
        else w.WriteNull("automatic_payment_methods");
        Number(w, "canceled_at", pi.CanceledAt);
        w.WriteString("cancellation_reason", pi.CancellationReason);
        w.WriteString("capture_method", pi.CaptureMethod);
        w.WriteString("client_secret", pi.ClientSecret);
        w.WriteString("confirmation_method", "automatic");
        w.WriteNumber("created", pi.Created);
        w.WriteString("currency", pi.Currency);
        w.WriteNull("customer");
        w.WriteString("description", pi.Description);
        w.WritePropertyName("last_payment_error");
        Raw(w, pi.LastPaymentError);
        Reference(w, "latest_charge", pi.LatestCharge, x);
        w.WriteBoolean("livemode", false);
        Metadata(w, pi.Metadata);
        NextAction(w, pi);
        w.WriteNull("on_behalf_of");
        w.WriteString("payment_method", pi.PaymentMethod);
        w.WriteStartObject("payment_method_options");
        w.WriteStartObject("card");
        w.WriteString("request_three_d_secure", "automatic");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WritePropertyName("payment_method_types");
        Strings(w, pi.PaymentMethodTypes);
        w.WriteNull("processing");
        w.WriteString("receipt_email", pi.ReceiptEmail);
        w.WriteNull("review");
        w.WriteString("setup_future_usage", pi.SetupFutureUsage);
        w.WriteNull("shipping");
        w.WriteNull("source");
        w.WriteString("statement_descriptor", pi.StatementDescriptor);
        w.WriteString("statement_descriptor_suffix", pi.StatementDescriptorSuffix);
        w.WriteString("status", pi.Status);
        w.WriteNull("transfer_data");
        w.WriteNull("transfer_group");
        w.WriteEndObject();
    }

    /// <summary>
    /// 3-D Secure as Stripe asks for it: a redirect only when the confirm carried a return_url (where the bank sends
    /// the customer back); otherwise an action for Stripe.js or the mobile SDKs, with no URL to redirect to. Either
    /// way POST /_sim/payment_intents/{id}/authenticate stands in for the customer.
    /// </summary>
    private static void NextAction(Utf8JsonWriter w, PaymentIntentState pi)
    {
        if (pi.Status != PiStatus.RequiresAction || pi.NextActionUrl is null)
        {
            w.WriteNull("next_action");
            return;
        }
        w.WriteStartObject("next_action");
        if (pi.ReturnUrl is not null)
        {
            w.WriteStartObject("redirect_to_url");
            w.WriteString("return_url", pi.ReturnUrl);
            w.WriteString("url", pi.NextActionUrl);
            w.WriteEndObject();
            w.WriteString("type", "redirect_to_url");
        }
        else
        {
            w.WriteString("type", "use_stripe_sdk");
            w.WriteStartObject("use_stripe_sdk");
            w.WriteString("type", "three_d_secure_redirect");
            w.WriteString("stripe_js", pi.NextActionUrl);
            w.WriteNull("source");
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    public static void Charge(Utf8JsonWriter w, ChargeState ch, Expansion x)
    {
        var succeeded = ch.Status == "succeeded";
        w.WriteStartObject();
        w.WriteString("id", ch.Id);
        w.WriteString("object", "charge");
        w.WriteNumber("amount", ch.Amount);
        w.WriteNumber("amount_captured", ch.AmountCaptured);
        w.WriteNumber("amount_refunded", ch.AmountRefunded);
        Reference(w, "balance_transaction", ch.BalanceTransaction, x);
        w.WriteStartObject("billing_details");
        w.WriteNull("address");
        w.WriteNull("email");
        w.WriteNull("name");
        w.WriteNull("phone");
        w.WriteEndObject();
        w.WriteString("calculated_statement_descriptor", ch.StatementDescriptor ?? "PAYRAIL");
        w.WriteBoolean("captured", ch.Captured);
        w.WriteNumber("created", ch.Created);
        w.WriteString("currency", ch.Currency);
        w.WriteNull("customer");
        w.WriteString("description", ch.Description);
        w.WriteBoolean("disputed", false);
        w.WriteNull("failure_balance_transaction");
        w.WriteString("failure_code", ch.FailureCode);
        w.WriteString("failure_message", ch.FailureMessage);
        w.WriteBoolean("livemode", false);
        Metadata(w, ch.Metadata);
        w.WriteStartObject("outcome");
        w.WriteString("network_status", succeeded ? "approved_by_network" : "declined_by_network");
        w.WriteString("reason", succeeded ? null : ch.DeclineCode);
        w.WriteString("risk_level", "normal");
        w.WriteString("seller_message", succeeded ? "Payment complete." : "The bank did not return any further details with this decline.");
        w.WriteString("type", succeeded ? "authorized" : "issuer_declined");
        w.WriteEndObject();
        w.WriteBoolean("paid", succeeded);
        Reference(w, "payment_intent", ch.PaymentIntent, x);
        w.WriteString("payment_method", ch.PaymentMethod);
        w.WriteStartObject("payment_method_details");
        w.WriteStartObject("card");
        w.WriteString("brand", ch.Brand);
        w.WriteString("country", "US");
        w.WriteNumber("exp_month", 12);
        w.WriteNumber("exp_year", 2034);
        w.WriteString("funding", "credit");
        w.WriteString("last4", ch.Last4);
        w.WriteString("network", ch.Brand);
        // Stripe sends capture_before only on a manual-capture authorization (an optional, non-nullable field).
        if (ch.CaptureBefore is { } captureBefore) w.WriteNumber("capture_before", captureBefore);
        w.WriteEndObject();
        w.WriteString("type", "card");
        w.WriteEndObject();
        w.WriteNull("receipt_url");
        w.WriteBoolean("refunded", ch.Captured && ch.AmountCaptured > 0 && ch.AmountRefunded >= ch.AmountCaptured);
        w.WriteString("statement_descriptor", ch.StatementDescriptor);
        w.WriteString("status", ch.Status);
        w.WriteEndObject();
    }

    public static void Refund(Utf8JsonWriter w, RefundState re, Expansion x)
    {
        w.WriteStartObject();
        w.WriteString("id", re.Id);
        w.WriteString("object", "refund");
        w.WriteNumber("amount", re.Amount);
        Reference(w, "balance_transaction", re.BalanceTransaction, x);
        Reference(w, "charge", re.Charge, x);
        w.WriteNumber("created", re.Created);
        w.WriteString("currency", re.Currency);
        w.WriteStartObject("destination_details");
        w.WriteStartObject("card");
        w.WriteString("reference_status", "pending");
        w.WriteString("reference_type", "acquirer_reference_number");
        w.WriteString("type", "refund");
        w.WriteEndObject();
        w.WriteString("type", "card");
        w.WriteEndObject();
        Reference(w, "failure_balance_transaction", re.FailureBalanceTransaction, x);
        w.WriteString("failure_reason", re.FailureReason);
        Metadata(w, re.Metadata);
        Reference(w, "payment_intent", re.PaymentIntent, x);
        w.WriteString("pending_reason", re.Status == RefundStatus.Pending ? "processing" : null);
        w.WriteString("reason", re.Reason);
        w.WriteNull("receipt_number");
        w.WriteNull("source_transfer_reversal");
        w.WriteString("status", re.Status);
        w.WriteNull("transfer_reversal");
        w.WriteEndObject();
    }

    public static void BalanceTransaction(Utf8JsonWriter w, BalanceTransactionState t, long now, Expansion x)
    {
        w.WriteStartObject();
        w.WriteString("id", t.Id);
        w.WriteString("object", "balance_transaction");
        w.WriteNumber("amount", t.Amount);
        w.WriteNumber("available_on", t.AvailableOn);
        w.WriteNumber("created", t.Created);
        w.WriteString("currency", t.Currency);
        w.WriteString("description", t.Description);
        // Stripe sends a JSON number; the exact decimal text of the FX table goes out digit for digit.
        w.WritePropertyName("exchange_rate");
        Raw(w, t.ExchangeRate);
        w.WriteNumber("fee", t.Fee);
        w.WriteStartArray("fee_details");
        if (t.Fee != 0)
        {
            w.WriteStartObject();
            w.WriteNumber("amount", t.Fee);
            w.WriteNull("application");
            w.WriteString("currency", t.Currency);
            w.WriteString("description", "Stripe processing fees");
            w.WriteString("type", "stripe_fee");
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("net", t.Net);
        w.WriteString("reporting_category", t.ReportingCategory);
        Reference(w, "source", t.Source, x);
        w.WriteString("status", now >= t.AvailableOn ? "available" : "pending");
        w.WriteString("type", t.Type);
        w.WriteEndObject();
    }

    public static void Payout(Utf8JsonWriter w, Payouts.PayoutState p, Expansion x)
    {
        w.WriteStartObject();
        w.WriteString("id", p.Id);
        w.WriteString("object", "payout");
        w.WriteNumber("amount", p.Amount);
        w.WriteNull("application_fee");
        w.WriteNull("application_fee_amount");
        w.WriteNumber("arrival_date", p.ArrivalDate);
        w.WriteBoolean("automatic", true);
        Reference(w, "balance_transaction", p.BalanceTransaction, x);
        w.WriteNumber("created", p.Created);
        w.WriteString("currency", p.Currency);
        w.WriteString("description", "STRIPE PAYOUT");
        w.WriteNull("destination");
        w.WriteNull("failure_balance_transaction");
        w.WriteNull("failure_code");
        w.WriteNull("failure_message");
        w.WriteBoolean("livemode", false);
        w.WriteStartObject("metadata");
        w.WriteEndObject();
        w.WriteString("method", "standard");
        w.WriteNull("original_payout");
        w.WriteString("reconciliation_status", "completed");
        w.WriteNull("reversed_by");
        w.WriteString("source_type", "card");
        w.WriteNull("statement_descriptor");
        w.WriteString("status", "paid");
        w.WriteString("type", "bank_account");
        w.WriteEndObject();
    }

    /// <summary>Stripe's list envelope around <paramref name="items"/>, each written by <paramref name="write"/>.</summary>
    public static void List<T>(Utf8JsonWriter w, string url, IReadOnlyList<T> items, bool hasMore, Action<Utf8JsonWriter, T> write)
    {
        w.WriteStartObject();
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        foreach (var item in items) write(w, item);
        w.WriteEndArray();
        w.WriteBoolean("has_more", hasMore);
        w.WriteString("url", url);
        w.WriteEndObject();
    }

    /// <summary>
    /// An id field, or the object it names when expand[] asks for it (as Stripe: an id that names nothing pspsim can
    /// expand becomes null; a null id stays null).
    /// </summary>
    private static void Reference(Utf8JsonWriter w, string field, string? id, Expansion x)
    {
        w.WritePropertyName(field);
        if (id is null)
        {
            w.WriteNullValue();
            return;
        }
        if (x.Into(field) is not { } inner)
        {
            w.WriteStringValue(id);
            return;
        }
        var s = inner.Store;
        if (id.StartsWith("ch_", StringComparison.Ordinal) && s.Charges.Find(id) is { } ch) Charge(w, ch, inner);
        else if (id.StartsWith("pi_", StringComparison.Ordinal) && s.PaymentIntents.Find(id) is { } pi) PaymentIntent(w, pi, inner);
        else if (id.StartsWith("re_", StringComparison.Ordinal) && s.Refunds.Find(id) is { } re) Refund(w, re, inner);
        else if (id.StartsWith("txn_", StringComparison.Ordinal) && s.BalanceTransactions.Find(id) is { } t) BalanceTransaction(w, t, inner.Now, inner);
        else w.WriteNullValue();
    }

    private static void Metadata(Utf8JsonWriter w, Dictionary<string, string> metadata)
    {
        w.WriteStartObject("metadata");
        foreach (var (k, v) in metadata) w.WriteString(k, v);
        w.WriteEndObject();
    }

    private static void Strings(Utf8JsonWriter w, List<string> values)
    {
        w.WriteStartArray();
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static void Number(Utf8JsonWriter w, string field, long? value)
    {
        if (value is { } v) w.WriteNumber(field, v);
        else w.WriteNull(field);
    }

    /// <summary>
    /// A JSON value kept as text (an FX rate, a payment error): parsed and written again as the tree form did, so the
    /// bytes are the same whatever spacing or escaping the text had.
    /// </summary>
    private static void Raw(Utf8JsonWriter w, string? json)
    {
        if (json is null) w.WriteNullValue();
        else JsonNode.Parse(json)!.WriteTo(w);
    }
}

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
        w.WriteString("id"u8, pi.Id);
        w.WriteString("object"u8, "payment_intent"u8);
        w.WritePropertyName("allowed_payment_method_types"u8);
        if (pi.AutomaticPaymentMethods) w.WriteNullValue();
        else Strings(w, pi.PaymentMethodTypes);
        w.WriteNumber("amount"u8, pi.Amount);
        w.WriteNumber("amount_capturable"u8, pi.AmountCapturable);
        w.WriteStartObject("amount_details"u8);
        w.WriteStartObject("tip"u8);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteNumber("amount_received"u8, pi.AmountReceived);
        w.WriteNull("application"u8);
        w.WriteNull("application_fee_amount"u8);
        if (pi.AutomaticPaymentMethods)
        {
            w.WriteStartObject("automatic_payment_methods"u8);
            w.WriteString("allow_redirects"u8, pi.AllowRedirects ?? "always");
            w.WriteBoolean("enabled"u8, true);
            w.WriteEndObject();
        }
        else w.WriteNull("automatic_payment_methods"u8);
        Number(w, "canceled_at", pi.CanceledAt);
        w.WriteString("cancellation_reason"u8, pi.CancellationReason);
        w.WriteString("capture_method"u8, pi.CaptureMethod);
        w.WriteString("client_secret"u8, pi.ClientSecret);
        w.WriteString("confirmation_method"u8, "automatic"u8);
        w.WriteNumber("created"u8, pi.Created);
        w.WriteString("currency"u8, pi.Currency);
        w.WriteNull("customer"u8);
        w.WriteString("description"u8, pi.Description);
        w.WritePropertyName("last_payment_error"u8);
        Raw(w, pi.LastPaymentError);
        Reference(w, "latest_charge", pi.LatestCharge, x);
        w.WriteBoolean("livemode"u8, false);
        Metadata(w, pi.Metadata);
        NextAction(w, pi);
        w.WriteNull("on_behalf_of"u8);
        w.WriteString("payment_method"u8, pi.PaymentMethod);
        w.WriteStartObject("payment_method_options"u8);
        w.WriteStartObject("card"u8);
        w.WriteString("request_three_d_secure"u8, "automatic"u8);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WritePropertyName("payment_method_types"u8);
        Strings(w, pi.PaymentMethodTypes);
        w.WriteNull("processing"u8);
        w.WriteString("receipt_email"u8, pi.ReceiptEmail);
        w.WriteNull("review"u8);
        w.WriteString("setup_future_usage"u8, pi.SetupFutureUsage);
        w.WriteNull("shipping"u8);
        w.WriteNull("source"u8);
        w.WriteString("statement_descriptor"u8, pi.StatementDescriptor);
        w.WriteString("statement_descriptor_suffix"u8, pi.StatementDescriptorSuffix);
        w.WriteString("status"u8, pi.Status);
        w.WriteNull("transfer_data"u8);
        w.WriteNull("transfer_group"u8);
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
            w.WriteNull("next_action"u8);
            return;
        }
        w.WriteStartObject("next_action"u8);
        if (pi.ReturnUrl is not null)
        {
            w.WriteStartObject("redirect_to_url"u8);
            w.WriteString("return_url"u8, pi.ReturnUrl);
            w.WriteString("url"u8, pi.NextActionUrl);
            w.WriteEndObject();
            w.WriteString("type"u8, "redirect_to_url"u8);
        }
        else
        {
            w.WriteString("type"u8, "use_stripe_sdk"u8);
            w.WriteStartObject("use_stripe_sdk"u8);
            w.WriteString("type"u8, "three_d_secure_redirect"u8);
            w.WriteString("stripe_js"u8, pi.NextActionUrl);
            w.WriteNull("source"u8);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    public static void Charge(Utf8JsonWriter w, ChargeState ch, Expansion x)
    {
        var succeeded = ch.Status == "succeeded";
        w.WriteStartObject();
        w.WriteString("id"u8, ch.Id);
        w.WriteString("object"u8, "charge"u8);
        w.WriteNumber("amount"u8, ch.Amount);
        w.WriteNumber("amount_captured"u8, ch.AmountCaptured);
        w.WriteNumber("amount_refunded"u8, ch.AmountRefunded);
        Reference(w, "balance_transaction", ch.BalanceTransaction, x);
        w.WriteStartObject("billing_details"u8);
        w.WriteNull("address"u8);
        w.WriteNull("email"u8);
        w.WriteNull("name"u8);
        w.WriteNull("phone"u8);
        w.WriteEndObject();
        w.WriteString("calculated_statement_descriptor"u8, ch.StatementDescriptor ?? "PAYRAIL");
        w.WriteBoolean("captured"u8, ch.Captured);
        w.WriteNumber("created"u8, ch.Created);
        w.WriteString("currency"u8, ch.Currency);
        w.WriteNull("customer"u8);
        w.WriteString("description"u8, ch.Description);
        w.WriteBoolean("disputed"u8, false);
        w.WriteNull("failure_balance_transaction"u8);
        w.WriteString("failure_code"u8, ch.FailureCode);
        w.WriteString("failure_message"u8, ch.FailureMessage);
        w.WriteBoolean("livemode"u8, false);
        Metadata(w, ch.Metadata);
        w.WriteStartObject("outcome"u8);
        w.WriteString("network_status"u8, succeeded ? "approved_by_network" : "declined_by_network");
        w.WriteString("reason"u8, succeeded ? null : ch.DeclineCode);
        w.WriteString("risk_level"u8, "normal"u8);
        w.WriteString("seller_message"u8, succeeded ? "Payment complete." : "The bank did not return any further details with this decline.");
        w.WriteString("type"u8, succeeded ? "authorized" : "issuer_declined");
        w.WriteEndObject();
        w.WriteBoolean("paid"u8, succeeded);
        Reference(w, "payment_intent", ch.PaymentIntent, x);
        w.WriteString("payment_method"u8, ch.PaymentMethod);
        w.WriteStartObject("payment_method_details"u8);
        w.WriteStartObject("card"u8);
        w.WriteString("brand"u8, ch.Brand);
        w.WriteString("country"u8, "US"u8);
        w.WriteNumber("exp_month"u8, 12);
        w.WriteNumber("exp_year"u8, 2034);
        w.WriteString("funding"u8, "credit"u8);
        w.WriteString("last4"u8, ch.Last4);
        w.WriteString("network"u8, ch.Brand);
        // Stripe sends capture_before only on a manual-capture authorization (an optional, non-nullable field).
        if (ch.CaptureBefore is { } captureBefore) w.WriteNumber("capture_before"u8, captureBefore);
        w.WriteEndObject();
        w.WriteString("type"u8, "card"u8);
        w.WriteEndObject();
        w.WriteNull("receipt_url"u8);
        w.WriteBoolean("refunded"u8, ch.Captured && ch.AmountCaptured > 0 && ch.AmountRefunded >= ch.AmountCaptured);
        w.WriteString("statement_descriptor"u8, ch.StatementDescriptor);
        w.WriteString("status"u8, ch.Status);
        w.WriteEndObject();
    }

    public static void Refund(Utf8JsonWriter w, RefundState re, Expansion x)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, re.Id);
        w.WriteString("object"u8, "refund"u8);
        w.WriteNumber("amount"u8, re.Amount);
        Reference(w, "balance_transaction", re.BalanceTransaction, x);
        Reference(w, "charge", re.Charge, x);
        w.WriteNumber("created"u8, re.Created);
        w.WriteString("currency"u8, re.Currency);
        w.WriteStartObject("destination_details"u8);
        w.WriteStartObject("card"u8);
        w.WriteString("reference_status"u8, "pending"u8);
        w.WriteString("reference_type"u8, "acquirer_reference_number"u8);
        w.WriteString("type"u8, "refund"u8);
        w.WriteEndObject();
        w.WriteString("type"u8, "card"u8);
        w.WriteEndObject();
        Reference(w, "failure_balance_transaction", re.FailureBalanceTransaction, x);
        w.WriteString("failure_reason"u8, re.FailureReason);
        Metadata(w, re.Metadata);
        Reference(w, "payment_intent", re.PaymentIntent, x);
        w.WriteString("pending_reason"u8, re.Status == RefundStatus.Pending ? "processing" : null);
        w.WriteString("reason"u8, re.Reason);
        w.WriteNull("receipt_number"u8);
        w.WriteNull("source_transfer_reversal"u8);
        w.WriteString("status"u8, re.Status);
        w.WriteNull("transfer_reversal"u8);
        w.WriteEndObject();
    }

    public static void BalanceTransaction(Utf8JsonWriter w, BalanceTransactionState t, long now, Expansion x)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, t.Id);
        w.WriteString("object"u8, "balance_transaction"u8);
        w.WriteNumber("amount"u8, t.Amount);
        w.WriteNumber("available_on"u8, t.AvailableOn);
        w.WriteNumber("created"u8, t.Created);
        w.WriteString("currency"u8, t.Currency);
        w.WriteString("description"u8, t.Description);
        // Stripe sends a JSON number; the exact decimal text of the FX table goes out digit for digit.
        w.WritePropertyName("exchange_rate"u8);
        Raw(w, t.ExchangeRate);
        w.WriteNumber("fee"u8, t.Fee);
        w.WriteStartArray("fee_details"u8);
        if (t.Fee != 0)
        {
            w.WriteStartObject();
            w.WriteNumber("amount"u8, t.Fee);
            w.WriteNull("application"u8);
            w.WriteString("currency"u8, t.Currency);
            w.WriteString("description"u8, "Stripe processing fees"u8);
            w.WriteString("type"u8, "stripe_fee"u8);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("net"u8, t.Net);
        w.WriteString("reporting_category"u8, t.ReportingCategory);
        Reference(w, "source", t.Source, x);
        w.WriteString("status"u8, now >= t.AvailableOn ? "available" : "pending");
        w.WriteString("type"u8, t.Type);
        w.WriteEndObject();
    }

    public static void Payout(Utf8JsonWriter w, Payouts.PayoutState p, Expansion x)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, p.Id);
        w.WriteString("object"u8, "payout"u8);
        w.WriteNumber("amount"u8, p.Amount);
        w.WriteNull("application_fee"u8);
        w.WriteNull("application_fee_amount"u8);
        w.WriteNumber("arrival_date"u8, p.ArrivalDate);
        w.WriteBoolean("automatic"u8, true);
        Reference(w, "balance_transaction", p.BalanceTransaction, x);
        w.WriteNumber("created"u8, p.Created);
        w.WriteString("currency"u8, p.Currency);
        w.WriteString("description"u8, "STRIPE PAYOUT"u8);
        w.WriteNull("destination"u8);
        w.WriteNull("failure_balance_transaction"u8);
        w.WriteNull("failure_code"u8);
        w.WriteNull("failure_message"u8);
        w.WriteBoolean("livemode"u8, false);
        w.WriteStartObject("metadata"u8);
        w.WriteEndObject();
        w.WriteString("method"u8, "standard"u8);
        w.WriteNull("original_payout"u8);
        w.WriteString("reconciliation_status"u8, "completed"u8);
        w.WriteNull("reversed_by"u8);
        w.WriteString("source_type"u8, "card"u8);
        w.WriteNull("statement_descriptor"u8);
        w.WriteString("status"u8, "paid"u8);
        w.WriteString("type"u8, "bank_account"u8);
        w.WriteEndObject();
    }

    /// <summary>Stripe's list envelope around <paramref name="items"/>, each written by <paramref name="write"/>.</summary>
    public static void List<T>(Utf8JsonWriter w, string url, IReadOnlyList<T> items, bool hasMore, Action<Utf8JsonWriter, T> write)
    {
        w.WriteStartObject();
        w.WriteString("object"u8, "list"u8);
        w.WriteStartArray("data"u8);
        foreach (var item in items) write(w, item);
        w.WriteEndArray();
        w.WriteBoolean("has_more"u8, hasMore);
        w.WriteString("url"u8, url);
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
        w.WriteStartObject("metadata"u8);
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

using System.Text.Json.Nodes;
using PspSim.Api;
using PspSim.Storage;
using PspSim.Stripe;

namespace PspSim.PaymentIntents;

/// <summary>/v1/payment_intents: create, retrieve, list, confirm, capture, cancel.</summary>
public static class PaymentIntentEndpoints
{
    public const long MaxAmount = 99_999_999;

    // The parameters pspsim models. Every other parameter Stripe documents for these endpoints is listed beside them
    // and refused like an unknown one (400 parameter_unknown naming it): a sandbox that silently ignored `customer`
    // or `transfer_data` would let a test pass that behaves differently against Stripe.
    private static readonly HashSet<string> CreateParams =
    [
        "amount", "currency", "allowed_payment_method_types", "automatic_payment_methods", "capture_method", "confirm",
        "description", "error_on_requires_action", "expand", "metadata", "off_session", "payment_method",
        "payment_method_types", "receipt_email", "return_url", "setup_future_usage", "statement_descriptor",
        "statement_descriptor_suffix",
    ];
    private static readonly HashSet<string> CreateUnmodelled =
    [
        "amount_details", "application_fee_amount", "confirmation_method", "confirmation_token", "customer", "customer_account",
        "excluded_payment_method_types", "hooks", "mandate", "mandate_data", "on_behalf_of", "payment_details",
        "payment_method_configuration", "payment_method_data", "payment_method_options", "radar_options", "shipping",
        "transfer_data", "transfer_group", "use_stripe_sdk",
    ];
    private static readonly HashSet<string> ConfirmParams =
    [
        "allowed_payment_method_types", "amount_to_confirm", "capture_method", "error_on_requires_action", "expand",
        "off_session", "payment_method", "payment_method_types", "receipt_email", "return_url", "setup_future_usage",
    ];
    private static readonly HashSet<string> ConfirmUnmodelled =
    [
        "amount_details", "confirmation_token", "excluded_payment_method_types", "hooks", "mandate", "mandate_data",
        "payment_details", "payment_method_data", "payment_method_options", "radar_options", "shipping", "use_stripe_sdk",
    ];
    private static readonly HashSet<string> CaptureParams = ["amount_to_capture", "expand", "metadata", "statement_descriptor"];
    private static readonly HashSet<string> CaptureUnmodelled =
    [
        "amount_details", "application_fee_amount", "final_capture", "hooks", "payment_details", "statement_descriptor_suffix",
        "transfer_data",
    ];
    private static readonly HashSet<string> CancelParams = ["cancellation_reason", "expand"];
    private static readonly HashSet<string> RetrieveParams = ["client_secret", "expand"];
    private static readonly HashSet<string> ListParams = [.. ListQuery.CommonParams];
    private static readonly HashSet<string> ListUnmodelled = ["customer", "customer_account"];
    private static readonly HashSet<string> AutomaticPaymentMethodsKeys = ["enabled", "allow_redirects"];
    private static readonly HashSet<string> CancellationReasons = ["duplicate", "fraudulent", "requested_by_customer", "abandoned"];

    public static long ValidAmount(long? amount, string param = "amount")
    {
        if (amount is null) throw StripeApiException.Missing(param);
        if (amount < 1) throw StripeApiException.Invalid("Amount must be at least 1 minor unit.", param, "amount_too_small");
        if (amount > MaxAmount) throw StripeApiException.Invalid($"Amount must be no more than {MaxAmount}.", param, "amount_too_large");
        return amount.Value;
    }

    private static string? ValidCaptureMethod(string? raw) => raw switch
    {
        null => null,
        "automatic" or "automatic_async" or "manual" => raw,
        _ => throw StripeApiException.Invalid($"Invalid capture_method: must be one of automatic, automatic_async, or manual", "capture_method"),
    };

    private static string? ValidSetupFutureUsage(string? raw) => raw switch
    {
        null or "" => null,
        "on_session" or "off_session" => raw,
        _ => throw StripeApiException.Invalid("Invalid setup_future_usage: must be one of on_session or off_session", "setup_future_usage"),
    };

    /// <summary>
    /// Stripe's off_session: true, or the kind of off-session payment (one_off, recurring) — either way the customer
    /// is not there to authenticate. With error_on_requires_action, a card that needs 3-D Secure fails the attempt
    /// (402 authentication_required) instead of leaving the intent in requires_action.
    /// </summary>
    private static bool FailsOnAction(FormParams p, bool confirming)
    {
        var offSession = p.String("off_session", 20) switch
        {
            null => (bool?)null,
            "true" or "one_off" or "recurring" => true,
            "false" => false,
            _ => throw StripeApiException.Invalid("Invalid off_session: must be true, false, one_off or recurring", "off_session"),
        };
        var errorOnRequiresAction = p.Bool("error_on_requires_action");
        if (!confirming && (offSession ?? errorOnRequiresAction) is not null)
            throw StripeApiException.Invalid("off_session and error_on_requires_action can only be used with confirm=true.",
                offSession is not null ? "off_session" : "error_on_requires_action");
        return offSession == true || errorOnRequiresAction == true;
    }

    private static (string Id, TestCard Card)? ValidPaymentMethod(string? pm)
    {
        if (pm is null) return null;
        var card = TestCards.Find(pm) ?? throw StripeApiException.NoSuch("PaymentMethod", pm, "payment_method");
        return (pm, card);
    }

    /// <summary>
    /// Stripe.net 53 (API 2026-10-28.endive) sends allowed_payment_method_types; older clients send
    /// payment_method_types. Both are accepted; only card is modelled.
    /// </summary>
    private static IReadOnlyList<string> PaymentMethodTypes(FormParams p)
    {
        var allowed = p.List("allowed_payment_method_types", 20);
        var legacy = p.List("payment_method_types", 20);
        var (types, param) = allowed.Count > 0 ? (allowed, "allowed_payment_method_types") : (legacy, "payment_method_types");
        foreach (var t in types)
            if (t != "card") throw StripeApiException.Invalid($"The payment method type \"{t}\" is invalid. This sandbox supports only card.", param);
        return types;
    }

    private static void RequireReturnUrlForRedirects(bool automaticPaymentMethods, string? allowRedirects, string? returnUrl)
    {
        // Stripe: payment methods from the Dashboard may redirect, so confirming needs a return_url
        // unless redirects are switched off (automatic_payment_methods[allow_redirects]=never).
        if (automaticPaymentMethods && allowRedirects != "never" && returnUrl is null)
            throw StripeApiException.Invalid(
                "This PaymentIntent is configured to accept payment methods enabled in your Dashboard, because some of these payment methods might redirect your customer off of your page, you must provide a `return_url`. If you don't want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.",
                "return_url");
    }

    public static ApiResult Create(ApiRequest r)
    {
        var p = r.Params;
        p.AllowOnly(CreateParams, CreateUnmodelled);
        var amount = ValidAmount(p.Long("amount"));
        var currency = Currencies.Parse(p.String("currency"));
        Currencies.RequireChargeable(amount, currency, "amount", applyMinimum: true);
        var captureMethod = ValidCaptureMethod(p.String("capture_method")) ?? "automatic_async";
        var confirm = p.Bool("confirm") ?? false;
        var pm = ValidPaymentMethod(p.String("payment_method"));
        var metadata = p.Metadata() ?? [];
        var description = p.String("description", 1_000);
        var descriptor = p.String("statement_descriptor", 22);
        var descriptorSuffix = p.String("statement_descriptor_suffix", 22);
        var returnUrl = p.String("return_url", 2_048);
        var receiptEmail = p.String("receipt_email", 800);
        var setupFutureUsage = ValidSetupFutureUsage(p.String("setup_future_usage"));
        var apm = p.Hash("automatic_payment_methods", AutomaticPaymentMethodsKeys);
        var apmEnabled = FormParams.BoolOf(apm.GetValueOrDefault("enabled"), "automatic_payment_methods[enabled]");
        var allowRedirects = apm.GetValueOrDefault("allow_redirects")?.Value;
        if (allowRedirects is not null and not ("always" or "never"))
            throw StripeApiException.Invalid("Invalid automatic_payment_methods[allow_redirects]: must be one of always or never", "automatic_payment_methods[allow_redirects]");
        if (apm.Count > 0 && apmEnabled is null) throw StripeApiException.Missing("automatic_payment_methods[enabled]");
        var types = PaymentMethodTypes(p);
        if (types.Count > 0 && apmEnabled == true)
            throw StripeApiException.Invalid("You may only specify one of these parameters: automatic_payment_methods, payment_method_types.", "automatic_payment_methods");
        if (confirm && pm is null)
            throw StripeApiException.Invalid("You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with a payment method, you must provide one.", "payment_method", "payment_intent_unexpected_state");
        var failsOnAction = FailsOnAction(p, confirm);
        var expand = Expander.Parse(p, "payment_intent");

        // Under current API versions automatic payment methods are on unless payment method types are given.
        var automatic = types.Count == 0 && apmEnabled != false;
        var redirects = automatic ? allowRedirects ?? "always" : null;
        if (confirm) RequireReturnUrlForRedirects(automatic, redirects, returnUrl);

        return r.Store.Write(r.Info, tx =>
        {
            var id = Ids.New("pi");
            var pi = new PaymentIntentState
            {
                Id = id, Created = tx.Now, Amount = amount, Currency = currency,
                Status = pm is null ? PiStatus.RequiresPaymentMethod : PiStatus.RequiresConfirmation,
                CaptureMethod = captureMethod, ClientSecret = $"{id}_secret_{Ids.New("s")[2..]}", PaymentMethod = pm?.Id,
                Description = description, Metadata = metadata, StatementDescriptor = descriptor,
                StatementDescriptorSuffix = descriptorSuffix, ReturnUrl = returnUrl, ReceiptEmail = receiptEmail,
                SetupFutureUsage = setupFutureUsage, AutomaticPaymentMethods = automatic, AllowRedirects = redirects,
                PaymentMethodTypes = ["card"],
            };
            tx.Save(pi);
            tx.Emit("payment_intent.created", StripeJson.PaymentIntent(pi));
            var result = confirm
                ? PaymentFlow.Confirm(tx, pi, pm!.Value.Id, pm.Value.Card, r.Options, r.BaseUrl, failsOnAction)
                : PaymentFlow.Answer(pi);
            return Expanded(result, pi, expand, tx.Store, tx.Now);
        });
    }

    /// <summary>
    /// A 200 is the intent itself: with expand[], it is written again with the expanded objects inline. Expansion reads
    /// objects saved by this very change, so it runs inside the write.
    /// </summary>
    private static ApiResult Expanded(ApiResult result, PaymentIntentState pi, IReadOnlyList<string> expand, SimStore store, long now)
    {
        if (result.Status != 200 || expand.Count == 0) return result;
        result.Release();
        var x = Expansion.Of(expand, store, now);
        return ApiResult.Ok(w => StripeWriter.PaymentIntent(w, pi, x));
    }

    private static PaymentIntentState Find(SimStore store, string id) =>
        store.PaymentIntents.Find(id) ?? throw StripeApiException.NoSuch("payment_intent", id, "intent");

    public static ApiResult Retrieve(ApiRequest r, string id)
    {
        r.Params.AllowOnly(RetrieveParams);
        var expand = Expander.Parse(r.Params, "payment_intent");
        return r.Store.Read(s =>
        {
            var pi = Find(s, id);
            var x = Expansion.Of(expand, s, s.Now());
            return ApiResult.Ok(w => StripeWriter.PaymentIntent(w, pi, x));
        });
    }

    public static ApiResult List(ApiRequest r)
    {
        r.Params.AllowOnly(ListParams, ListUnmodelled);
        var q = ListQuery.Parse(r.Params);
        var expand = Expander.Parse(r.Params, "payment_intent", isList: true);
        return r.Store.Read(s =>
        {
            var (items, hasMore) = q.Page(s.PaymentIntents);
            var x = Expansion.Of(expand, s, s.Now(), isList: true);
            return ApiResult.Ok(w => StripeWriter.List(w, "/v1/payment_intents", items, hasMore, (w, pi) => StripeWriter.PaymentIntent(w, pi, x)));
        });
    }

    public static ApiResult Confirm(ApiRequest r, string id)
    {
        var p = r.Params;
        p.AllowOnly(ConfirmParams, ConfirmUnmodelled);
        var pmParam = ValidPaymentMethod(p.String("payment_method"));
        var captureMethod = ValidCaptureMethod(p.String("capture_method"));
        var returnUrl = p.String("return_url", 2_048);
        var receiptEmail = p.String("receipt_email", 800);
        var setupFutureUsage = ValidSetupFutureUsage(p.String("setup_future_usage"));
        PaymentMethodTypes(p);
        var amountToConfirm = p.Long("amount_to_confirm");
        var failsOnAction = FailsOnAction(p, confirming: true);
        var expand = Expander.Parse(p, "payment_intent");

        return r.Store.Write(r.Info, tx =>
        {
            var pi = Find(tx.Store, id);
            if (pi.Status is not (PiStatus.RequiresPaymentMethod or PiStatus.RequiresConfirmation or PiStatus.RequiresAction))
                throw StripeApiException.UnexpectedState($"You cannot confirm this PaymentIntent because it has a status of {pi.Status}. Only a PaymentIntent with one of the following statuses may be confirmed: requires_confirmation, requires_payment_method, requires_action.");
            var pm = pmParam ?? ValidPaymentMethod(pi.PaymentMethod)
                ?? throw StripeApiException.UnexpectedState("You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with a payment method, you must provide one.");
            RequireReturnUrlForRedirects(pi.AutomaticPaymentMethods, pi.AllowRedirects, returnUrl ?? pi.ReturnUrl);
            if (amountToConfirm is not null && amountToConfirm != pi.Amount)
                throw StripeApiException.Invalid($"amount_to_confirm ({amountToConfirm}) must equal the PaymentIntent amount ({pi.Amount}) in this sandbox.", "amount_to_confirm");
            // Validated: from here on the intent changes.
            if (captureMethod is not null) pi.CaptureMethod = captureMethod;
            if (returnUrl is not null) pi.ReturnUrl = returnUrl;
            if (receiptEmail is not null) pi.ReceiptEmail = receiptEmail;
            if (setupFutureUsage is not null) pi.SetupFutureUsage = setupFutureUsage;
            return Expanded(PaymentFlow.Confirm(tx, pi, pm.Id, pm.Card, r.Options, r.BaseUrl, failsOnAction), pi, expand, tx.Store, tx.Now);
        });
    }

    public static ApiResult Capture(ApiRequest r, string id)
    {
        var p = r.Params;
        p.AllowOnly(CaptureParams, CaptureUnmodelled);
        var requested = p.Long("amount_to_capture");
        if (requested is not null) ValidAmount(requested, "amount_to_capture");
        var metadata = p.Metadata();
        var descriptor = p.String("statement_descriptor", 22);
        var expand = Expander.Parse(p, "payment_intent");

        return r.Store.Write(r.Info, tx =>
        {
            var pi = Find(tx.Store, id);
            if (pi.Status != PiStatus.RequiresCapture)
                throw StripeApiException.UnexpectedState($"This PaymentIntent could not be captured because it has a status of {pi.Status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.");
            var amount = requested ?? pi.AmountCapturable;
            if (amount > pi.AmountCapturable)
                throw new StripeApiException(400, "invalid_request_error", "amount_too_large",
                    $"The amount to capture ({amount}) must be less than or equal to the authorized amount ({pi.AmountCapturable}).", "amount_to_capture") { Executed = true };
            // A partial capture is a charge of its own: whole steps of the currency and at least Stripe's minimum.
            if (requested is not null) Currencies.RequireChargeable(amount, pi.Currency, "amount_to_capture", applyMinimum: true, executed: true);
            var charge = tx.Store.Charges.Find(pi.LatestCharge!)!;
            if (metadata is not null) foreach (var (k, v) in metadata) pi.Metadata[k] = v;
            if (descriptor is not null) pi.StatementDescriptor = descriptor;
            // A partial capture releases the rest of the authorization.
            var chargeBefore = StripeJson.Charge(charge);
            PaymentFlow.CaptureCharge(tx, charge, amount, r.Options);
            pi.Status = PiStatus.Succeeded;
            pi.AmountReceived = amount;
            pi.AmountCapturable = 0;
            tx.Save(pi);
            tx.Emit("charge.captured", StripeJson.Charge(charge));
            var chargeAfter = StripeJson.Charge(charge);
            tx.Emit("charge.updated", chargeAfter, Events.PreviousAttributes.Of(chargeBefore, chargeAfter));
            tx.Emit("payment_intent.succeeded", StripeJson.PaymentIntent(pi));
            return Expanded(PaymentFlow.Answer(pi), pi, expand, tx.Store, tx.Now);
        });
    }

    public static ApiResult Cancel(ApiRequest r, string id)
    {
        var p = r.Params;
        p.AllowOnly(CancelParams);
        var reason = p.String("cancellation_reason");
        if (reason is not null && !CancellationReasons.Contains(reason))
            throw StripeApiException.Invalid("Invalid cancellation_reason: must be one of duplicate, fraudulent, requested_by_customer, or abandoned", "cancellation_reason");
        var expand = Expander.Parse(p, "payment_intent");

        return r.Store.Write(r.Info, tx =>
        {
            var pi = Find(tx.Store, id);
            if (pi.Status is PiStatus.Succeeded or PiStatus.Canceled)
                throw StripeApiException.UnexpectedState($"You cannot cancel this PaymentIntent because it has a status of {pi.Status}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.");
            pi.Status = PiStatus.Canceled;
            pi.CanceledAt = tx.Now;
            pi.CancellationReason = reason;
            pi.AmountCapturable = 0;
            pi.NextActionUrl = null;
            tx.Save(pi);
            tx.Emit("payment_intent.canceled", StripeJson.PaymentIntent(pi));
            return Expanded(PaymentFlow.Answer(pi), pi, expand, tx.Store, tx.Now);
        });
    }

    /// <summary>
    /// Control plane: finishes a pending intent — the customer completes (or fails) 3-D Secure on a
    /// requires_action intent, or the network settles (or declines) a processing one.
    /// </summary>
    public static ApiResult Complete(SimStore store, PspSimOptions options, string id, bool succeed, string expectedStatus)
    {
        return store.Write(new RequestInfo(null, null), tx =>
        {
            var pi = Find(tx.Store, id);
            if (pi.Status != expectedStatus)
                throw StripeApiException.UnexpectedState($"This PaymentIntent has a status of {pi.Status}; only {expectedStatus} can be completed this way.");
            var pm = pi.PaymentMethod!;
            var card = TestCards.Find(pm)!;
            if (succeed) PaymentFlow.Authorize(tx, pi, pm, card, options);
            else if (expectedStatus == PiStatus.Processing)
                PaymentFlow.Decline(tx, pi, pm, card with { Code = "card_declined", DeclineCode = "generic_decline", Message = "Your card was declined.", Param = null });
            else
            {
                var error = new StripeApiException(400, "invalid_request_error", "payment_intent_authentication_failure",
                    "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.")
                {
                    Extra = new JsonObject { ["payment_method"] = new JsonObject { ["id"] = pm, ["object"] = "payment_method", ["type"] = "card" } },
                };
                PaymentFlow.FailAttempt(tx, pi, error.ErrorObject(), null);
            }
            return PaymentFlow.Answer(pi);
        });
    }
}

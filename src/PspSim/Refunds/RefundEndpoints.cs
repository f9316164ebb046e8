using PspSim.Api;
using PspSim.BalanceTransactions;
using PspSim.Events;
using PspSim.PaymentIntents;
using PspSim.Storage;
using PspSim.Stripe;

namespace PspSim.Refunds;

/// <summary>
/// /v1/refunds: capped at what was captured and not yet refunded. Card refunds succeed at once, except those of
/// Stripe's asynchronous test cards (pending then succeeded; succeeded then failed: <see cref="RefundLifecycle"/>).
/// </summary>
public static class RefundEndpoints
{
    private static readonly HashSet<string> CreateParams =
        ["amount", "charge", "currency", "expand", "metadata", "payment_intent", "reason"];
    /// <summary>Documented by Stripe, not modelled here: refused by name rather than accepted and ignored.</summary>
    private static readonly HashSet<string> CreateUnmodelled =
        ["customer", "instructions_email", "origin", "refund_application_fee", "reverse_transfer"];
    private static readonly HashSet<string> ListParams = [.. ListQuery.CommonParams, "charge", "payment_intent"];
    private static readonly HashSet<string> RetrieveParams = ["expand"];
    private static readonly HashSet<string> UpdateParams = ["expand", "metadata"];
    private static readonly HashSet<string> CancelParams = ["expand"];
    private static readonly HashSet<string> Reasons = ["duplicate", "fraudulent", "requested_by_customer"];

    public static ApiResult Create(ApiRequest r)
    {
        var p = r.Params;
        p.AllowOnly(CreateParams, CreateUnmodelled);
        var paymentIntentId = p.String("payment_intent", 255);
        var chargeId = p.String("charge", 255);
        if (paymentIntentId is null && chargeId is null)
            throw StripeApiException.Invalid("One of `charge` or `payment_intent` is required.", "payment_intent", "parameter_missing");
        var requested = p.Long("amount");
        if (requested is not null) PaymentIntentEndpoints.ValidAmount(requested);
        var currency = p.String("currency") is { } c ? Currencies.Parse(c) : null;
        var reason = p.String("reason");
        if (reason is not null && !Reasons.Contains(reason))
            throw StripeApiException.Invalid("Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer", "reason");
        var metadata = p.Metadata() ?? [];
        var expand = Expander.Parse(p, "refund");

        return r.Store.Write(r.Info, tx =>
        {
            var charge = ResolveCharge(tx.Store, paymentIntentId, chargeId);
            if (currency is not null && currency != charge.Currency)
                throw StripeApiException.Invalid($"Refund currency ({currency}) must match the charge currency ({charge.Currency}).", "currency");
            var remaining = charge.AmountCaptured - charge.AmountRefunded;
            if (remaining <= 0)
                throw new StripeApiException(400, "invalid_request_error", "charge_already_refunded", $"Charge {charge.Id} has already been refunded.") { Executed = true };
            var amount = requested ?? remaining;
            if (amount > remaining)
                throw new StripeApiException(400, "invalid_request_error", "amount_too_large",
                    $"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})", "amount") { Executed = true };
            // Refunds have no minimum, but Stripe refuses fractional ISK and a three-decimal amount not ending in 0.
            Currencies.RequireChargeable(amount, charge.Currency, "amount", applyMinimum: false, executed: true);

            var refund = new RefundState
            {
                Id = Ids.New("re"), Created = tx.Now, Amount = amount, Currency = charge.Currency, Charge = charge.Id,
                PaymentIntent = charge.PaymentIntent, Status = RefundStatus.Succeeded, Reason = reason, Metadata = metadata,
            };
            var behavior = TestCards.Find(charge.PaymentMethod)?.Refund ?? RefundBehavior.Immediate;
            refund.Status = RefundLifecycle.Begin(refund, behavior, tx.Now, r.Options.AsyncRefundDelaySeconds);
            // Booked like its charge: in the settlement currency at the same fixed rate.
            var booked = Settlement.Book(amount, charge.Currency, r.Options);
            var txn = new BalanceTransactionState
            {
                Id = Ids.New("txn"), Created = tx.Now, Amount = -booked.Amount, Fee = 0, Net = -booked.Amount, Currency = booked.Currency,
                ExchangeRate = booked.ExchangeRate,
                Source = refund.Id, Type = "refund", ReportingCategory = "refund",
                AvailableOn = tx.Now, Description = "REFUND FOR CHARGE",
            };
            refund.BalanceTransaction = txn.Id;
            charge.AmountRefunded += amount;
            tx.Save(txn);
            tx.Save(refund);
            tx.Save(charge);
            tx.Emit("refund.created", StripeJson.Refund(refund));
            tx.Emit("charge.refunded", StripeJson.Charge(charge));
            var x = Expansion.Of(expand, tx.Store, tx.Now);
            return ApiResult.Ok(w => StripeWriter.Refund(w, refund, x));
        });
    }

    private static ChargeState ResolveCharge(SimStore store, string? paymentIntentId, string? chargeId)
    {
        if (chargeId is not null)
        {
            var ch = store.Charges.Find(chargeId) ?? throw StripeApiException.NoSuch("charge", chargeId, "charge");
            if (!ch.Captured)
                throw new StripeApiException(400, "invalid_request_error", "charge_not_refundable", $"Charge {ch.Id} has not been captured and cannot be refunded.", "charge") { Executed = true };
            return ch;
        }
        var pi = store.PaymentIntents.Find(paymentIntentId!) ?? throw StripeApiException.NoSuch("payment_intent", paymentIntentId!, "payment_intent");
        if (pi.Status != PiStatus.Succeeded || pi.LatestCharge is null)
            throw StripeApiException.UnexpectedState($"This PaymentIntent ({pi.Id}) does not have a successful charge to refund (status {pi.Status}).");
        return store.Charges.Find(pi.LatestCharge)!;
    }

    public static ApiResult Retrieve(ApiRequest r, string id)
    {
        r.Params.AllowOnly(RetrieveParams);
        var expand = Expander.Parse(r.Params, "refund");
        return r.Store.Read(s =>
        {
            var re = s.Refunds.Find(id) ?? throw StripeApiException.NoSuch("refund", id);
            var x = Expansion.Of(expand, s, s.Now());
            return ApiResult.Ok(w => StripeWriter.Refund(w, re, x));
        });
    }

    /// <summary>POST /v1/refunds/{id}: metadata only (an empty value removes a key), emitting refund.updated.</summary>
    public static ApiResult Update(ApiRequest r, string id)
    {
        var p = r.Params;
        p.AllowOnly(UpdateParams);
        var metadataNode = p.Node("metadata");
        var metadata = p.Metadata();
        var expand = Expander.Parse(p, "refund");
        return r.Store.Write(r.Info, tx =>
        {
            var re = tx.Store.Refunds.Find(id) ?? throw StripeApiException.NoSuch("refund", id);
            if (metadataNode is not null)
            {
                var merged = metadataNode.IsScalar ? [] : new Dictionary<string, string>(re.Metadata);
                if (!metadataNode.IsScalar)
                    foreach (var (k, v) in metadataNode.Children!)
                        if (v.Value is "") merged.Remove(k);
                foreach (var (k, v) in metadata!) merged[k] = v;
                if (merged.Count > 50) throw StripeApiException.Invalid("Metadata can have at most 50 keys.", "metadata");
                var before = StripeJson.Refund(re);
                re.Metadata = merged;
                tx.Save(re);
                var after = StripeJson.Refund(re);
                tx.Emit("refund.updated", after, PreviousAttributes.Of(before, after));
            }
            var x = Expansion.Of(expand, tx.Store, tx.Now);
            return ApiResult.Ok(w => StripeWriter.Refund(w, re, x));
        });
    }

    /// <summary>
    /// POST /v1/refunds/{id}/cancel: Stripe's API cancels only a refund in requires_action, a state card refunds never
    /// enter; a card refund is canceled in the Dashboard (here: POST /_sim/refunds/{id}/settle with outcome canceled).
    /// </summary>
    public static ApiResult Cancel(ApiRequest r, string id)
    {
        r.Params.AllowOnly(CancelParams);
        Expander.Parse(r.Params, "refund");
        return r.Store.Read<ApiResult>(s =>
        {
            var re = s.Refunds.Find(id) ?? throw StripeApiException.NoSuch("refund", id);
            throw new StripeApiException(400, "invalid_request_error", null,
                $"You can't cancel refund {re.Id} because it has a status of {re.Status}. Only a refund with a status of requires_action can be canceled.") { Executed = true };
        });
    }

    /// <summary>
    /// Control plane: settles a refund now — succeeded (a pending one), failed (pending or succeeded, with a Stripe
    /// failure_reason) or canceled (a pending one, as Stripe's Dashboard does).
    /// </summary>
    public static ApiResult Settle(SimStore store, string id, string outcome, string? failureReason)
    {
        return store.Write(new RequestInfo(null, null), tx =>
        {
            var re = tx.Store.Refunds.Find(id) ?? throw StripeApiException.NoSuch("refund", id);
            switch (outcome)
            {
                case RefundStatus.Succeeded: RefundLifecycle.Succeed(tx, re); break;
                case RefundStatus.Failed: RefundLifecycle.Reverse(tx, re, RefundStatus.Failed, failureReason ?? RefundLifecycle.TestCardFailureReason); break;
                default: RefundLifecycle.Reverse(tx, re, RefundStatus.Canceled, RefundLifecycle.CanceledReason); break;
            }
            return ApiResult.Ok(StripeJson.Refund(re));
        });
    }

    public static ApiResult List(ApiRequest r)
    {
        r.Params.AllowOnly(ListParams);
        var q = ListQuery.Parse(r.Params);
        var pi = r.Params.String("payment_intent", 255);
        var ch = r.Params.String("charge", 255);
        var expand = Expander.Parse(r.Params, "refund", isList: true);
        return r.Store.Read(s =>
        {
            var (items, hasMore) = q.Page(s.Refunds, re => (pi is null || re.PaymentIntent == pi) && (ch is null || re.Charge == ch));
            var x = Expansion.Of(expand, s, s.Now(), isList: true);
            return ApiResult.Ok(w => StripeWriter.List(w, "/v1/refunds", items, hasMore, (w, re) => StripeWriter.Refund(w, re, x)));
        });
    }
}

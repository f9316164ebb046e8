using System.Text.Json.Nodes;
using PspSim.Api;
using PspSim.BalanceTransactions;
using PspSim.Storage;
using PspSim.Stripe;

namespace PspSim.PaymentIntents;

/// <summary>The card state machine: confirm → (decline | requires_action | authorize) → capture.</summary>
public static class PaymentFlow
{
    /// <summary>What Stripe answers when a card needs 3-D Secure but the customer cannot be asked (off_session, error_on_requires_action).</summary>
    private static TestCard AuthenticationRequired(TestCard card) => card with
    {
        Code = "authentication_required", DeclineCode = "authentication_required",
        Message = "Your card was declined. This transaction requires authentication.", Param = null,
    };

    /// <summary>
    /// Confirms with a validated test card; returns the answer (402 on decline, the intent otherwise). A card that needs
    /// 3-D Secure declines with authentication_required when <paramref name="failsOnAction"/> (off_session or
    /// error_on_requires_action), and otherwise waits in requires_action.
    /// </summary>
    public static ApiResult Confirm(
        SimStore.WriteTx tx, PaymentIntentState pi, string paymentMethod, TestCard card, PspSimOptions options, string baseUrl, bool failsOnAction = false)
    {
        pi.PaymentMethod = paymentMethod;
        switch (card.Outcome)
        {
            case CardOutcome.Decline:
                return Decline(tx, pi, paymentMethod, card);
            case CardOutcome.RequireAction when failsOnAction:
                return Decline(tx, pi, paymentMethod, AuthenticationRequired(card));
            case CardOutcome.RequireAction:
                pi.Status = PiStatus.RequiresAction;
                pi.NextActionUrl = ThreeDSecure.ThreeDSecurePage.UrlFor(baseUrl, pi.Id);
                tx.Save(pi);
                tx.Emit("payment_intent.requires_action", StripeJson.PaymentIntent(pi));
                return Answer(pi);
            case CardOutcome.Processing or CardOutcome.ProcessingThenSucceeds or CardOutcome.ProcessingThenDeclines:
                pi.Status = PiStatus.Processing;
                // The bank answers later, on the due-changes clock (whole sim-clock seconds, rounded up).
                pi.SettleAt = card.Outcome == CardOutcome.Processing ? null : tx.Now + (options.AsyncDelayMs + 999) / 1_000;
                tx.Save(pi);
                tx.Emit("payment_intent.processing", StripeJson.PaymentIntent(pi));
                return Answer(pi);
            default:
                Authorize(tx, pi, paymentMethod, card, options);
                return Answer(pi);
        }
    }

    /// <summary>The intent as answered: written straight to bytes (the caller holds the store lock), no tree in between.</summary>
    public static ApiResult Answer(PaymentIntentState pi) => ApiResult.Ok(w => StripeWriter.PaymentIntent(w, pi, Expansion.None));

    /// <summary>
    /// An asynchronous test card's bank answers (pm_card_async_success / pm_card_async_declined): the intent is authorized
    /// (or captured) or declined, if it is still the processing attempt scheduled for <paramref name="dueAt"/>.
    /// </summary>
    public static void SettleDue(SimStore.WriteTx tx, PaymentIntentState pi, long dueAt, PspSimOptions options)
    {
        if (pi.Status != PiStatus.Processing || pi.SettleAt != dueAt || pi.PaymentMethod is not { } pm || TestCards.Find(pm) is not { } card) return;
        pi.SettleAt = null;
        if (card.Outcome == CardOutcome.ProcessingThenSucceeds) Authorize(tx, pi, pm, card, options);
        else Decline(tx, pi, pm, card with { Code = "card_declined", DeclineCode = "generic_decline", Message = "Your card was declined.", Param = null });
    }

    public static void Authorize(SimStore.WriteTx tx, PaymentIntentState pi, string paymentMethod, TestCard card, PspSimOptions options)
    {
        var charge = new ChargeState
        {
            Id = Ids.New("ch"), Created = tx.Now, Amount = pi.Amount, Currency = pi.Currency, PaymentIntent = pi.Id,
            PaymentMethod = paymentMethod, Brand = card.Brand, Last4 = card.Last4, Status = "succeeded",
            Description = pi.Description, Metadata = new(pi.Metadata), StatementDescriptor = pi.StatementDescriptor,
        };
        pi.LatestCharge = charge.Id;
        pi.LastPaymentError = null;
        pi.NextActionUrl = null;
        if (pi.CaptureMethod == "manual")
        {
            pi.Status = PiStatus.RequiresCapture;
            pi.AmountCapturable = pi.Amount;
            charge.CaptureBefore = tx.Now + options.AuthorizationValiditySeconds;
            tx.Save(charge);
            tx.Save(pi);
            tx.Emit("charge.succeeded", StripeJson.Charge(charge));
            tx.Emit("payment_intent.amount_capturable_updated", StripeJson.PaymentIntent(pi));
            return;
        }
        CaptureCharge(tx, charge, pi.Amount, options);
        pi.Status = PiStatus.Succeeded;
        pi.AmountReceived = pi.Amount;
        tx.Save(pi);
        tx.Emit("charge.succeeded", StripeJson.Charge(charge));
        tx.Emit("payment_intent.succeeded", StripeJson.PaymentIntent(pi));
    }

    /// <summary>Captures <paramref name="amount"/> of an authorized charge and books its balance transaction.</summary>
    public static void CaptureCharge(SimStore.WriteTx tx, ChargeState charge, long amount, PspSimOptions options)
    {
        var booked = Settlement.Book(amount, charge.Currency, options);
        var fee = Settlement.FeeFor(booked.Amount, booked.Currency, options);
        var txn = new BalanceTransactionState
        {
            Id = Ids.New("txn"), Created = tx.Now, Amount = booked.Amount, Fee = fee, Net = booked.Amount - fee,
            Currency = booked.Currency, ExchangeRate = booked.ExchangeRate,
            Source = charge.Id, Type = "charge", ReportingCategory = "charge",
            AvailableOn = tx.Now + options.AvailableAfterDays * 86_400L, Description = charge.Description,
        };
        charge.Captured = true;
        charge.AmountCaptured = amount;
        charge.BalanceTransaction = txn.Id;
        tx.Save(txn);
        tx.Save(charge);
    }

    public static ApiResult Decline(SimStore.WriteTx tx, PaymentIntentState pi, string paymentMethod, TestCard card)
    {
        var charge = new ChargeState
        {
            Id = Ids.New("ch"), Created = tx.Now, Amount = pi.Amount, Currency = pi.Currency, PaymentIntent = pi.Id,
            PaymentMethod = paymentMethod, Brand = card.Brand, Last4 = card.Last4, Status = "failed",
            Description = pi.Description, Metadata = new(pi.Metadata), FailureCode = card.Code,
            FailureMessage = card.Message, DeclineCode = card.DeclineCode,
        };
        var error = new StripeApiException(402, "card_error", card.Code, card.Message!, card.Param)
        {
            DeclineCode = card.DeclineCode,
            Executed = true,
            Extra = new JsonObject
            {
                ["charge"] = charge.Id,
                ["payment_method"] = new JsonObject { ["id"] = paymentMethod, ["object"] = "payment_method", ["type"] = "card" },
                ["request_log_url"] = null,
            },
        };
        FailAttempt(tx, pi, error.ErrorObject(), charge);
        return ApiResult.Error(new StripeApiException(402, "card_error", card.Code, card.Message!, card.Param)
        {
            DeclineCode = card.DeclineCode,
            Executed = true,
            Extra = new JsonObject { ["charge"] = charge.Id, ["payment_intent"] = StripeJson.PaymentIntent(pi) },
        });
    }

    /// <summary>A failed attempt detaches the payment method and waits for a new one, as Stripe does.</summary>
    public static void FailAttempt(SimStore.WriteTx tx, PaymentIntentState pi, JsonObject lastPaymentError, ChargeState? charge)
    {
        pi.Status = PiStatus.RequiresPaymentMethod;
        pi.PaymentMethod = null;
        pi.NextActionUrl = null;
        pi.LastPaymentError = lastPaymentError.ToJsonString();
        if (charge is not null)
        {
            pi.LatestCharge = charge.Id;
            tx.Save(charge);
            tx.Save(pi);
            tx.Emit("charge.failed", StripeJson.Charge(charge));
        }
        else tx.Save(pi);
        tx.Emit("payment_intent.payment_failed", StripeJson.PaymentIntent(pi));
    }
}

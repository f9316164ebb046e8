namespace PspSim.PaymentIntents;

/// <summary>What a test card does when confirmed.</summary>
public enum CardOutcome
{
    Succeed, Decline, RequireAction,
    /// <summary>Processing until a test settles it (/_sim/payment_intents/{id}/settle).</summary>
    Processing,
    /// <summary>Processing for PspSim:AsyncDelayMs, then succeeds (or requires capture).</summary>
    ProcessingThenSucceeds,
    /// <summary>Processing for PspSim:AsyncDelayMs, then declined (generic_decline).</summary>
    ProcessingThenDeclines,
}

/// <summary>What a refund of the card's charge does (docs.stripe.com/testing#refunds).</summary>
public enum RefundBehavior
{
    /// <summary>Succeeds at once and never changes.</summary>
    Immediate,
    /// <summary>Asynchronous success: begins pending, later succeeds (refund.updated).</summary>
    PendingThenSucceeds,
    /// <summary>Asynchronous failure: begins succeeded, later fails with expired_or_canceled_card (refund.failed).</summary>
    SucceedsThenFails,
}

public sealed record TestCard(string Brand, string Last4, CardOutcome Outcome, string? Code = null, string? DeclineCode = null, string? Message = null, string? Param = null,
    RefundBehavior Refund = RefundBehavior.Immediate);

/// <summary>Stripe's test PaymentMethods (https://docs.stripe.com/testing), the subset the sandbox models.</summary>
public static class TestCards
{
    private static readonly Dictionary<string, TestCard> Cards = new(StringComparer.Ordinal)
    {
        ["pm_card_visa"] = new("visa", "4242", CardOutcome.Succeed),
        ["pm_card_visa_debit"] = new("visa", "5556", CardOutcome.Succeed),
        ["pm_card_mastercard"] = new("mastercard", "4444", CardOutcome.Succeed),
        ["pm_card_amex"] = new("amex", "8431", CardOutcome.Succeed),
        ["pm_card_pendingRefund"] = new("visa", "7726", CardOutcome.Succeed, Refund: RefundBehavior.PendingThenSucceeds),
        ["pm_card_refundFail"] = new("visa", "5126", CardOutcome.Succeed, Refund: RefundBehavior.SucceedsThenFails),
        ["pm_card_visa_chargeDeclined"] = new("visa", "0002", CardOutcome.Decline, "card_declined", "generic_decline", "Your card was declined."),
        ["pm_card_chargeDeclined"] = new("visa", "0002", CardOutcome.Decline, "card_declined", "generic_decline", "Your card was declined."),
        ["pm_card_chargeDeclinedInsufficientFunds"] = new("visa", "9995", CardOutcome.Decline, "card_declined", "insufficient_funds", "Your card has insufficient funds."),
        ["pm_card_chargeDeclinedLostCard"] = new("visa", "9987", CardOutcome.Decline, "card_declined", "lost_card", "Your card was declined."),
        ["pm_card_chargeDeclinedStolenCard"] = new("visa", "9979", CardOutcome.Decline, "card_declined", "stolen_card", "Your card was declined."),
        ["pm_card_chargeDeclinedFraudulent"] = new("visa", "0019", CardOutcome.Decline, "card_declined", "fraudulent", "Your card was declined."),
        ["pm_card_chargeDeclinedExpiredCard"] = new("visa", "0069", CardOutcome.Decline, "expired_card", "expired_card", "Your card has expired.", "exp_month"),
        ["pm_card_chargeDeclinedIncorrectCvc"] = new("visa", "0127", CardOutcome.Decline, "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.", "cvc"),
        ["pm_card_chargeDeclinedProcessingError"] = new("visa", "0119", CardOutcome.Decline, "processing_error", "processing_error", "An error occurred while processing your card. Try again in a little bit."),
        ["pm_card_authenticationRequired"] = new("visa", "3184", CardOutcome.RequireAction),
        ["pm_card_threeDSecure2Required"] = new("visa", "3220", CardOutcome.RequireAction),
        // Sandbox-only (not a Stripe token): stays in processing until POST /_sim/payment_intents/{id}/settle.
        ["pm_card_sim_processing"] = new("visa", "4242", CardOutcome.Processing),
        // Sandbox-only (not Stripe tokens; Stripe's cards answer at once): the bank answers after PspSim:AsyncDelayMs,
        // so the outcome reaches the merchant only by webhook (payment_intent.processing first).
        ["pm_card_async_success"] = new("visa", "4242", CardOutcome.ProcessingThenSucceeds),
        ["pm_card_async_declined"] = new("visa", "0002", CardOutcome.ProcessingThenDeclines),
    };

    public static TestCard? Find(string paymentMethod) => Cards.GetValueOrDefault(paymentMethod);
}

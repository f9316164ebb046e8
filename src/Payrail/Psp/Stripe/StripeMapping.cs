using Stripe;

namespace Payrail.Psp.Stripe;

/// <summary>
/// Stripe objects → Payrail's PSP contract. Pure functions. Every amount goes from Stripe's unit to ISO 4217 minor
/// units through <see cref="StripeAmounts.ToIso"/>, which throws <see cref="StripeAmountException"/> unless exact.
/// </summary>
internal static class StripeMapping
{
    public static PspPayment ToPayment(PaymentIntent intent)
    {
        var lastError = intent.LastPaymentError;
        var status = ToStatus(intent.Status);
        var failed = status == PspPaymentStatus.Failed;
        var charge = intent.LatestCharge; // set only when latest_charge was expanded
        var currency = intent.Currency;
        return new PspPayment(
            PspReference: intent.Id,
            Status: status,
            AmountMinor: StripeAmounts.ToIso(intent.Amount, currency),
            AmountCapturableMinor: StripeAmounts.ToIso(intent.AmountCapturable, currency),
            AmountCapturedMinor: StripeAmounts.ToIso(charge?.AmountCaptured ?? (intent.Status == "succeeded" ? intent.AmountReceived : 0), currency),
            AmountRefundedMinor: StripeAmounts.ToIso(charge?.AmountRefunded ?? 0, currency),
            CurrencyCode: (intent.Currency ?? "").ToUpperInvariant(),
            FailureCode: failed ? lastError?.DeclineCode ?? lastError?.Code ?? intent.Status : null,
            FailureMessage: failed ? lastError?.Message : null,
            NextActionUrl: status == PspPaymentStatus.RequiresAction ? intent.NextAction?.RedirectToUrl?.Url : null,
            CreatedAt: StripeConnector.Utc(intent.Created));
    }

    /// <summary>A Stripe refund; an unknown status (requires_action, a new one) is null: not decided.</summary>
    public static PspRefund ToRefund(Refund refund, string fallbackPspReference) =>
        new(refund.Id, refund.PaymentIntentId ?? fallbackPspReference, StripeAmounts.ToIso(refund.Amount, refund.Currency),
            (refund.Currency ?? "").ToUpperInvariant(), ToRefundStatus(refund.Status), StripeConnector.Utc(refund.Created))
        {
            FailureReason = refund.FailureReason is { Length: > 0 and <= 255 } reason ? reason : null,
            RefundId = refund.Metadata is { } m && m.TryGetValue(StripeConnector.PayrailRefundIdKey, out var text) && Guid.TryParse(text, out var id)
                ? id
                : null,
        };

    public static PspRefundStatus? ToRefundStatus(string? stripeStatus) => stripeStatus switch
    {
        "pending" => PspRefundStatus.Pending,
        "succeeded" => PspRefundStatus.Succeeded,
        "failed" => PspRefundStatus.Failed,
        "canceled" => PspRefundStatus.Canceled,
        _ => null,
    };

    /// <summary>A card decline (HTTP 402): the intent embedded in the error, Failed with the error's codes.</summary>
    public static PspPayment ToDeclinedPayment(PaymentIntent intent, StripeError error) =>
        ToPayment(intent) with
        {
            Status = PspPaymentStatus.Failed,
            FailureCode = error.DeclineCode ?? error.Code ?? intent.LastPaymentError?.DeclineCode ?? intent.LastPaymentError?.Code ?? "card_declined",
            FailureMessage = error.Message ?? intent.LastPaymentError?.Message,
            NextActionUrl = null,
        };

    /// <remarks>
    /// requires_payment_method without an error is a fresh intent nobody confirmed; Payrail always
    /// confirms on create, so it only appears after a failed attempt and counts as Failed too.
    /// Unknown statuses stay Processing: the outcome is then settled by webhook or by the sweeper, never guessed.
    /// </remarks>
    public static PspPaymentStatus ToStatus(string? stripeStatus) => stripeStatus switch
    {
        "requires_capture" => PspPaymentStatus.Authorized,
        "succeeded" => PspPaymentStatus.Captured,
        "processing" => PspPaymentStatus.Processing,
        "requires_action" => PspPaymentStatus.RequiresAction,
        "canceled" => PspPaymentStatus.Canceled,
        "requires_payment_method" => PspPaymentStatus.Failed,
        "requires_confirmation" => PspPaymentStatus.Processing,
        _ => PspPaymentStatus.Processing,
    };

    /// <summary>The PaymentIntent an event is about: the intent itself, or the intent of its charge or refund.</summary>
    public static PspEventSummary ToEventSummary(Event e)
    {
        var (reference, metadata) = e.Data?.Object switch
        {
            PaymentIntent intent => (intent.Id, intent.Metadata),
            Charge charge => (charge.PaymentIntentId, charge.Metadata),
            Refund refund => (refund.PaymentIntentId, refund.Metadata),
            _ => (null, null),
        };
        Guid? paymentId = metadata is not null && metadata.TryGetValue("payrail_payment_id", out var text) && Guid.TryParse(text, out var id)
            ? id
            : null;
        return new PspEventSummary(e.Id, e.Type, StripeConnector.Utc(e.Created), reference, paymentId);
    }

    public static PspSettlementLine ToSettlementLine(BalanceTransaction line) => new(
        Id: line.Id,
        Type: line.Type,
        PspReference: line.Source switch
        {
            Charge charge => charge.PaymentIntentId,
            Refund refund => refund.PaymentIntentId,
            _ => null,
        },
        SourceId: line.SourceId,
        AmountMinor: StripeAmounts.ToIso(line.Amount, line.Currency),
        FeeMinor: StripeAmounts.ToIso(line.Fee, line.Currency),
        NetMinor: StripeAmounts.ToIso(line.Net, line.Currency),
        CurrencyCode: (line.Currency ?? "").ToUpperInvariant(),
        Status: line.Status,
        CreatedAt: StripeConnector.Utc(line.Created),
        AvailableOn: StripeConnector.Utc(line.AvailableOn));
}

namespace Payrail.Outbox;

/// <summary>
/// The <c>type</c> of every event on topic <c>payments.v1</c> (DESIGN.md "Events and Kafka"). Consumers subscribe by these
/// names, so they are part of the contract: never rename one, add a new one.
/// </summary>
public static class EventTypes
{
    public const string PaymentInitiated = "payment.initiated";
    public const string PaymentAuthorized = "payment.authorized";
    public const string PaymentCaptured = "payment.captured";

    /// <summary>The seed's name for a successful payment: what notifications, loyalty and accounting wait for.</summary>
    public const string PaymentCompleted = "payment.completed";

    public const string PaymentFailed = "payment.failed";
    public const string PaymentVoided = "payment.voided";
    public const string PaymentRefunded = "payment.refunded";

    /// <summary>
    /// A refund that had succeeded came back (Stripe's refund_failure: the card was closed, the bank returned it): one event
    /// per reversed refund, carrying that refund (id, amount), so the consumers that counted its <c>payment.refunded</c>
    /// undo it. The payment's snapshot shows the amounts after the reversal.
    /// </summary>
    public const string PaymentRefundReversed = "payment.refund_reversed";
    public const string PaymentSettled = "payment.settled";
    public const string ReconciliationAlert = "reconciliation.alert";

    public static IReadOnlyList<string> All { get; } =
    [
        PaymentInitiated, PaymentAuthorized, PaymentCaptured, PaymentCompleted, PaymentFailed, PaymentVoided,
        PaymentRefunded, PaymentSettled, ReconciliationAlert, PaymentRefundReversed,
    ];
}

namespace Payrail.Domain.Payments;

/// <summary>
/// What happened to a payment, as reported by the PSP (synchronous answer, webhook,
/// settlement report) or decided by us (void, refund). Each names the status it leads to.
/// </summary>
public enum PaymentEvent
{
    /// <summary>The PSP took the charge and is deciding (→ Processing).</summary>
    PspAccepted,

    /// <summary>The issuer approved; funds are held (→ Authorized).</summary>
    Authorized,

    /// <summary>The held funds were taken, wholly or partially (→ Captured).</summary>
    Captured,

    /// <summary>The PSP paid the captured funds out (→ Settled).</summary>
    Settled,

    /// <summary>Declined, errored or timed out before authorization (→ Failed).</summary>
    Failed,

    /// <summary>The authorization was released without capture (→ Voided).</summary>
    Voided,

    /// <summary>
    /// Refunds reached the captured amount (→ Refunded). A partial refund is not an event
    /// for this machine: it keeps the status and only raises the refunded amount.
    /// </summary>
    Refunded,
}

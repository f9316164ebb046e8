using PspSim.Storage;
using PspSim.Stripe;

namespace PspSim.PaymentIntents;

/// <summary>
/// An authorization not captured by its capture_before expires (Stripe: 7 days for most cards): the intent is
/// canceled by Stripe (cancellation_reason automatic) and the charge stays uncaptured; charge.expired then
/// payment_intent.canceled. As since API 2025-03-31.basil, no Refund is created and amount_refunded stays 0.
/// </summary>
public static class AuthorizationExpiry
{
    public const string CancellationReason = "automatic";

    /// <summary>Expires the charge's authorization if it is still the intent's uncaptured one and due at <paramref name="dueAt"/>.</summary>
    public static void ExpireDue(SimStore.WriteTx tx, ChargeState charge, long dueAt)
    {
        if (charge.Captured || charge.CaptureBefore != dueAt) return;
        var pi = tx.Store.PaymentIntents.Find(charge.PaymentIntent);
        if (pi is null || pi.Status != PiStatus.RequiresCapture || pi.LatestCharge != charge.Id) return;
        pi.Status = PiStatus.Canceled;
        pi.CanceledAt = tx.Now;
        pi.CancellationReason = CancellationReason;
        pi.AmountCapturable = 0;
        tx.Save(pi);
        tx.Emit("charge.expired", StripeJson.Charge(charge));
        tx.Emit("payment_intent.canceled", StripeJson.PaymentIntent(pi));
    }
}

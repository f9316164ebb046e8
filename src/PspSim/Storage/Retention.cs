using PspSim.PaymentIntents;
using PspSim.Refunds;

namespace PspSim.Storage;

/// <summary>
/// What pspsim forgets, so its memory and snapshot stay bounded (Stripe keeps payment objects for good and events for
/// 30 days; a sandbox cannot). The unit is a payment: an intent with its charges, refunds and their balance
/// transactions, evicted together (never a refund without its charge), oldest first, once it is older than
/// <see cref="PspSimOptions.RetentionDays"/> or the store holds more than <see cref="PspSimOptions.MaxStoredPaymentIntents"/>.
/// A payment that can still change is never evicted: an intent awaiting capture, 3-D Secure or settlement, an uncaptured
/// authorization before its expiry, a refund that is pending or due to change (anything in <see cref="SimStore.Due"/>).
/// Events are evicted by age too (their count is capped by <see cref="PspSimOptions.MaxStoredEvents"/>).
/// </summary>
public static class Retention
{
    public sealed record Limits(int RetentionDays, int MaxStoredPaymentIntents);

    /// <summary>Evicts what the limits allow; the caller holds the store lock. Returns the number of objects evicted.</summary>
    public static int Evict(SimStore store, long now, Limits limits)
    {
        var cutoff = now - limits.RetentionDays * 86_400L;
        var evicted = store.Events.Count > 0 && store.Events[0].Created <= cutoff ? store.Events.RemoveAll(e => e.Created <= cutoff) : 0;
        evicted += EvictPayouts(store, cutoff);
        var excess = store.PaymentIntents.Count - limits.MaxStoredPaymentIntents;
        if (excess <= 0 && (store.PaymentIntents.Count == 0 || store.PaymentIntents[0].Created > cutoff)) return evicted;

        var live = LivePayments(store, now);
        var payments = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < store.PaymentIntents.Count; i++)
        {
            var pi = store.PaymentIntents[i];
            // Insertion order is creation order: past the cutoff and the excess nothing newer qualifies.
            if (pi.Created > cutoff && excess <= 0) break;
            if (live.Contains(pi.Id)) continue;
            payments.Add(pi.Id);
            excess--;
        }
        if (payments.Count == 0) return evicted;

        var sources = new HashSet<string>(StringComparer.Ordinal);
        evicted += store.Charges.RemoveAll(ch => payments.Contains(ch.PaymentIntent) && sources.Add(ch.Id));
        evicted += store.Refunds.RemoveAll(re => payments.Contains(re.PaymentIntent) && sources.Add(re.Id));
        evicted += store.BalanceTransactions.RemoveAll(t => sources.Contains(t.Source));
        evicted += store.PaymentIntents.RemoveAll(pi => payments.Contains(pi.Id));
        foreach (var id in payments) store.PaymentIntentSearch.Forget(id);
        return evicted;
    }

    /// <summary>Payouts past the cutoff with their own balance transactions (the ones they paid out go with their payments).</summary>
    private static int EvictPayouts(SimStore store, long cutoff)
    {
        if (store.Payouts.Count == 0 || store.Payouts[0].Created > cutoff) return 0;
        var own = new HashSet<string>(StringComparer.Ordinal);
        var evicted = store.Payouts.RemoveAll(p => p.Created <= cutoff && own.Add(p.BalanceTransaction));
        return evicted + store.BalanceTransactions.RemoveAll(t => own.Contains(t.Id));
    }

    /// <summary>Intents whose payment can still change, on its own or by a request Stripe would accept.</summary>
    private static HashSet<string> LivePayments(SimStore store, long now)
    {
        var live = new HashSet<string>(StringComparer.Ordinal);
        // A refund in the schedule (async test cards) settles or fails later, even one that reads succeeded now.
        var due = new HashSet<string>(store.Due.Where(d => d.Id.StartsWith("re_", StringComparison.Ordinal)).Select(d => d.Id), StringComparer.Ordinal);
        for (var i = 0; i < store.PaymentIntents.Count; i++)
        {
            var pi = store.PaymentIntents[i];
            if (pi.Status is PiStatus.RequiresCapture or PiStatus.RequiresAction or PiStatus.Processing) live.Add(pi.Id);
        }
        for (var i = 0; i < store.Charges.Count; i++)
        {
            var ch = store.Charges[i];
            if (!ch.Captured && ch.CaptureBefore > now) live.Add(ch.PaymentIntent);
        }
        for (var i = 0; i < store.Refunds.Count; i++)
        {
            var re = store.Refunds[i];
            if (due.Contains(re.Id) || re.Status == RefundStatus.Pending) live.Add(re.PaymentIntent);
        }
        return live;
    }
}

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

    /// <summary>What one eviction did: objects removed, and rows it read to decide (the cost it held the store lock for).</summary>
    public readonly record struct Work(int Evicted, int RowsExamined);

    /// <summary>
    /// Evicts what the limits allow; the caller holds the store lock. The work is proportional to what is evicted (plus
    /// the old payments that must stay, which it steps over), never to what the store holds: it walks each table from
    /// its oldest row and stops at the first that stays, and finds a payment's objects through the tables' groups.
    /// </summary>
    public static Work Evict(SimStore store, long now, Limits limits)
    {
        var cutoff = now - limits.RetentionDays * 86_400L;
        var work = new Counter();
        while (store.Events.Oldest is { } oldest && oldest.Created <= cutoff)
        {
            work.Examined++;
            work.Evicted += store.Events.Remove(oldest.Id) ? 1 : 0;
        }
        EvictPayouts(store, cutoff, work);

        var excess = store.PaymentIntents.Count - limits.MaxStoredPaymentIntents;
        var payments = new List<string>();
        foreach (var pi in store.PaymentIntents.OldestFirst())
        {
            // Insertion order is creation order: past the cutoff and the excess nothing newer qualifies.
            if (pi.Created > cutoff && excess <= 0) break;
            if (IsLive(store, pi, now, work)) continue;
            payments.Add(pi.Id);
            excess--;
        }
        foreach (var id in payments) EvictPayment(store, id, work);
        return new Work(work.Evicted, work.Examined);
    }

    private sealed class Counter
    {
        public int Evicted;
        public int Examined;
    }

    /// <summary>An intent with its charges, refunds and their balance transactions, together (never a refund without its charge).</summary>
    private static void EvictPayment(SimStore store, string paymentIntent, Counter work)
    {
        var sources = new List<string>(store.Charges.IdsIn(paymentIntent));
        sources.AddRange(store.Refunds.IdsIn(paymentIntent));
        foreach (var source in sources)
        {
            foreach (var txn in store.BalanceTransactions.IdsIn(source).ToList()) Evicted(work, store.BalanceTransactions.Remove(txn));
            Evicted(work, store.Charges.Remove(source) || store.Refunds.Remove(source));
        }
        Evicted(work, store.PaymentIntents.Remove(paymentIntent));
        store.PaymentIntentSearch.Forget(paymentIntent);
    }

    private static void Evicted(Counter work, bool removed)
    {
        work.Examined++;
        if (removed) work.Evicted++;
    }

    /// <summary>Payouts past the cutoff with their own balance transactions (the ones they paid out go with their payments).</summary>
    private static void EvictPayouts(SimStore store, long cutoff, Counter work)
    {
        while (store.Payouts.Oldest is { } payout && payout.Created <= cutoff)
        {
            Evicted(work, store.Payouts.Remove(payout.Id));
            Evicted(work, store.BalanceTransactions.Remove(payout.BalanceTransaction));
        }
    }

    /// <summary>
    /// Whether the intent's payment can still change, on its own or by a request Stripe would accept: an intent awaiting
    /// capture, 3-D Secure or settlement, a charge uncaptured before its expiry, a refund pending or scheduled to change
    /// (async test cards: one that reads succeeded now may still fail). A refund's <c>SettleAt</c> is set exactly while its
    /// entry in <see cref="SimStore.Due"/> is to be acted on (consuming the entry clears it), so no scan of the schedule.
    /// </summary>
    private static bool IsLive(SimStore store, PaymentIntentState pi, long now, Counter work)
    {
        work.Examined++;
        if (pi.Status is PiStatus.RequiresCapture or PiStatus.RequiresAction or PiStatus.Processing) return true;
        foreach (var id in store.Charges.IdsIn(pi.Id))
        {
            work.Examined++;
            if (store.Charges.Find(id) is { Captured: false } ch && ch.CaptureBefore > now) return true;
        }
        foreach (var id in store.Refunds.IdsIn(pi.Id))
        {
            work.Examined++;
            if (store.Refunds.Find(id) is { } re && (re.SettleAt is not null || re.Status == RefundStatus.Pending)) return true;
        }
        return false;
    }
}

using PspSim.PaymentIntents;
using PspSim.Refunds;
using PspSim.Storage;

namespace PspSim.Clock;

/// <summary>
/// Changes Stripe makes on its own, when their sim-clock second has come: asynchronous test-card refunds settle,
/// uncaptured authorizations expire, asynchronous test cards' banks answer. Run by <see cref="DueChangesService"/> on a timer and by /_sim/clock/advance.
/// </summary>
public static class DueChanges
{
    /// <summary>Makes at most <paramref name="max"/> due changes in one write; returns how many entries it consumed.</summary>
    public static int RunOnce(SimStore store, int max, PspSimOptions options)
    {
        return store.Write(new RequestInfo(null, null), tx =>
        {
            var consumed = 0;
            while (consumed < max && store.Due.Count > 0 && store.Due.Min.DueAt <= tx.Now)
            {
                var (dueAt, id) = store.Due.Min;
                store.Due.Remove(store.Due.Min);
                consumed++;
                if (id.StartsWith("re_", StringComparison.Ordinal) && store.Refunds.Find(id) is { } re) RefundLifecycle.SettleDue(tx, re, dueAt);
                else if (id.StartsWith("ch_", StringComparison.Ordinal) && store.Charges.Find(id) is { } ch) AuthorizationExpiry.ExpireDue(tx, ch, dueAt);
                else if (id.StartsWith("pi_", StringComparison.Ordinal) && store.PaymentIntents.Find(id) is { } pi) PaymentFlow.SettleDue(tx, pi, dueAt, options);
            }
            Payouts.AutomaticPayouts.Run(tx, options);
            return consumed;
        });
    }

    /// <summary>Runs until nothing is due (bounded by <paramref name="maxRounds"/> writes); returns the entries consumed.</summary>
    public static int RunAll(SimStore store, int maxPerRound, PspSimOptions options, int maxRounds = 1_000)
    {
        var total = 0;
        for (var round = 0; round < maxRounds; round++)
        {
            var consumed = RunOnce(store, maxPerRound, options);
            total += consumed;
            if (consumed < maxPerRound) break;
        }
        return total;
    }
}

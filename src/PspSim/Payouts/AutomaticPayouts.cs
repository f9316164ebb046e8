using PspSim.BalanceTransactions;
using PspSim.Stripe;
using PspSim.Storage;

namespace PspSim.Payouts;

/// <summary>
/// Stripe's automatic payouts (docs.stripe.com/payouts): at most once every <see cref="PspSimOptions.PayoutIntervalSeconds"/>
/// (daily, as Stripe's default schedule), the balance transactions that became available (<c>available_on</c> passed,
/// <see cref="PspSimOptions.AvailableAfterDays"/> after a charge) and were not paid out yet are paid out, one payout per
/// currency whose sum of <c>net</c> is positive; each such transaction then lists under the payout
/// (<c>GET /v1/balance_transactions?payout=</c>). A currency whose available sum is zero or negative waits (Stripe
/// debits a negative balance later). Runs in the due-changes write (timer and /_sim/clock/advance).
/// </summary>
public static class AutomaticPayouts
{
    /// <summary>Payouts made in this write (0 when none is due).</summary>
    public static int Run(SimStore.WriteTx tx, PspSimOptions options)
    {
        var store = tx.Store;
        if (!options.AutomaticPayouts || store.Unpaid.Count == 0 || store.Unpaid.Min.AvailableOn > tx.Now) return 0;
        if (store.LastPayoutAt is { } last && tx.Now < last + options.PayoutIntervalSeconds) return 0;

        var available = new Dictionary<string, List<BalanceTransactionState>>(StringComparer.Ordinal);
        // Only the available part is copied (the set is changed below); most of it is still in its payout delay.
        foreach (var (availableOn, id) in store.Unpaid.GetViewBetween((long.MinValue, ""), (tx.Now + 1, "")).ToList())
        {
            // Evicted with its payment (Retention): nothing left to pay out.
            if (store.BalanceTransactions.Find(id) is not { } txn || txn.Payout is not null)
            {
                store.Unpaid.Remove((availableOn, id));
                continue;
            }
            if (!available.TryGetValue(txn.Currency, out var list)) available[txn.Currency] = list = [];
            list.Add(txn);
        }

        var made = 0;
        foreach (var (currency, transactions) in available.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            var amount = transactions.Sum(t => t.Net);
            if (amount <= 0) continue;
            PayOut(tx, currency, amount, transactions);
            made++;
        }
        if (made > 0) store.LastPayoutAt = tx.Now;
        return made;
    }

    private static void PayOut(SimStore.WriteTx tx, string currency, long amount, List<BalanceTransactionState> transactions)
    {
        var payoutId = Ids.New("po");
        var own = new BalanceTransactionState
        {
            Id = Ids.New("txn"), Created = tx.Now, Amount = -amount, Fee = 0, Net = -amount, Currency = currency,
            Source = payoutId, Type = "payout", ReportingCategory = "payout", AvailableOn = tx.Now,
            Description = "STRIPE PAYOUT", Payout = payoutId,
        };
        foreach (var txn in transactions)
        {
            txn.Payout = payoutId;
            tx.Save(txn);
        }
        tx.Save(own);
        tx.Save(new PayoutState
        {
            Id = payoutId, Created = tx.Now, Amount = amount, Currency = currency, ArrivalDate = tx.Now, BalanceTransaction = own.Id,
        });
    }
}

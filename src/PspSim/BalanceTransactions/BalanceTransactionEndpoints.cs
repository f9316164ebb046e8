using PspSim.Api;
using PspSim.Stripe;

namespace PspSim.BalanceTransactions;

/// <summary>
/// /v1/balance_transactions: one per captured charge (with fee) and per refund, in the settlement currency
/// (<see cref="Settlement"/>); what reconciliation reads.
/// </summary>
public static class BalanceTransactionEndpoints
{
    // payout: the transactions an automatic payout paid out, its own included (Payouts/AutomaticPayouts).
    private static readonly HashSet<string> ListParams = [.. ListQuery.CommonParams, "currency", "payout", "source", "type"];
    private static readonly HashSet<string> RetrieveParams = ["expand"];

    public static ApiResult Retrieve(ApiRequest r, string id)
    {
        r.Params.AllowOnly(RetrieveParams);
        var expand = Expander.Parse(r.Params, "balance_transaction");
        return r.Store.Read(s =>
        {
            var t = s.BalanceTransactions.Find(id) ?? throw StripeApiException.NoSuch("balance transaction", id);
            var now = s.Now();
            var x = Expansion.Of(expand, s, now);
            return ApiResult.Ok(w => StripeWriter.BalanceTransaction(w, t, now, x));
        });
    }

    public static ApiResult List(ApiRequest r)
    {
        r.Params.AllowOnly(ListParams);
        var q = ListQuery.Parse(r.Params);
        var type = r.Params.String("type", 50);
        var source = r.Params.String("source", 255);
        var currency = r.Params.String("currency", 3)?.ToLowerInvariant();
        var payout = r.Params.String("payout", 255);
        var expand = Expander.Parse(r.Params, "balance_transaction", isList: true);
        return r.Store.Read(s =>
        {
            // As Stripe: a payout id that names no payout is resource_missing, not an empty list.
            if (payout is not null && s.Payouts.Find(payout) is null) throw StripeApiException.NoSuch("payout", payout, "payout");
            var now = s.Now();
            var (items, hasMore) = q.Page(s.BalanceTransactions,
                t => (type is null || t.Type == type) && (source is null || t.Source == source) && (currency is null || t.Currency == currency)
                     && (payout is null || t.Payout == payout));
            // Written under the store lock, sources expanded inline: no tree per line (what reconciliation reads, 100 a page).
            var x = Expansion.Of(expand, s, now, isList: true);
            return ApiResult.Ok(w => StripeWriter.List(w, "/v1/balance_transactions", items, hasMore, (w, t) => StripeWriter.BalanceTransaction(w, t, now, x)));
        });
    }
}

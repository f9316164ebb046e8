using PspSim.Api;
using PspSim.Stripe;

namespace PspSim.BalanceTransactions;

/// <summary>
/// /v1/balance_transactions: one per captured charge (with fee) and per refund, in the settlement currency
/// (<see cref="Settlement"/>); what reconciliation reads.
/// </summary>
public static class BalanceTransactionEndpoints
{
    private static readonly HashSet<string> ListParams = [.. ListQuery.CommonParams, "currency", "source", "type"];
    // Documented by Stripe; pspsim has no payouts, so the filter would silently match everything.
    private static readonly HashSet<string> ListUnmodelled = ["payout"];
    private static readonly HashSet<string> RetrieveParams = ["expand"];

    public static ApiResult Retrieve(ApiRequest r, string id)
    {
        r.Params.AllowOnly(RetrieveParams);
        var expand = Expander.Parse(r.Params, "balance_transaction");
        return r.Store.Read(s =>
        {
            var t = s.BalanceTransactions.Find(id) ?? throw StripeApiException.NoSuch("balance transaction", id);
            var body = StripeJson.BalanceTransaction(t, s.Now());
            Expander.Apply(body, expand, s, s.Now());
            return ApiResult.Ok(body);
        });
    }

    public static ApiResult List(ApiRequest r)
    {
        r.Params.AllowOnly(ListParams, ListUnmodelled);
        var q = ListQuery.Parse(r.Params);
        var type = r.Params.String("type", 50);
        var source = r.Params.String("source", 255);
        var currency = r.Params.String("currency", 3)?.ToLowerInvariant();
        var expand = Expander.Parse(r.Params, "balance_transaction", isList: true);
        return r.Store.Read(s =>
        {
            var now = s.Now();
            var (items, hasMore) = q.Page(s.BalanceTransactions,
                t => (type is null || t.Type == type) && (source is null || t.Source == source) && (currency is null || t.Currency == currency));
            var body = ListQuery.Envelope("/v1/balance_transactions", items.Select(t => StripeJson.BalanceTransaction(t, now)), hasMore);
            Expander.Apply(body, expand, s, now, isList: true);
            return ApiResult.Ok(body);
        });
    }
}

using PspSim.Api;
using PspSim.Stripe;

namespace PspSim.Payouts;

/// <summary>/v1/payouts (read only): the automatic payouts of <see cref="AutomaticPayouts"/>, newest first.</summary>
public static class PayoutEndpoints
{
    private static readonly HashSet<string> ListParams = [.. ListQuery.CommonParams, "status"];
    // Documented by Stripe; every payout here arrives at once at the one bank account, so these would match everything.
    private static readonly HashSet<string> ListUnmodelled = ["arrival_date", "destination"];
    private static readonly HashSet<string> RetrieveParams = ["expand"];

    public static ApiResult Retrieve(ApiRequest r, string id)
    {
        r.Params.AllowOnly(RetrieveParams);
        var expand = Expander.Parse(r.Params, "payout");
        return r.Store.Read(s =>
        {
            var payout = s.Payouts.Find(id) ?? throw StripeApiException.NoSuch("payout", id);
            var x = Expansion.Of(expand, s, s.Now());
            return ApiResult.Ok(w => StripeWriter.Payout(w, payout, x));
        });
    }

    public static ApiResult List(ApiRequest r)
    {
        r.Params.AllowOnly(ListParams, ListUnmodelled);
        var q = ListQuery.Parse(r.Params);
        var status = r.Params.String("status", 20);
        var expand = Expander.Parse(r.Params, "payout", isList: true);
        return r.Store.Read(s =>
        {
            // Every payout is paid at once: another status matches none.
            var (items, hasMore) = q.Page(s.Payouts, _ => status is null or "paid");
            var x = Expansion.Of(expand, s, s.Now(), isList: true);
            return ApiResult.Ok(w => StripeWriter.List(w, "/v1/payouts", items, hasMore, (w, p) => StripeWriter.Payout(w, p, x)));
        });
    }
}

using PspSim.Api;
using PspSim.Stripe;

namespace PspSim.PaymentIntents;

/// <summary>GET /v1/charges/{id}: the charges behind payment intents (read-only).</summary>
public static class ChargeEndpoints
{
    private static readonly HashSet<string> RetrieveParams = ["expand"];

    public static ApiResult Retrieve(ApiRequest r, string id)
    {
        r.Params.AllowOnly(RetrieveParams);
        var expand = Expander.Parse(r.Params, "charge");
        return r.Store.Read(s =>
        {
            var charge = s.Charges.Find(id) ?? throw StripeApiException.NoSuch("charge", id);
            var x = Expansion.Of(expand, s, s.Now());
            return ApiResult.Ok(w => StripeWriter.Charge(w, charge, x));
        });
    }
}

using Microsoft.AspNetCore.Authorization;
using Payrail.Auth;

namespace Payrail.Payments;

/// <summary>
/// Who may act on a payment or read what was done to it beyond the payment itself (capture, void, its notifications):
/// the merchant paid, or ops. A buyer token is refused by the route's policy (403); a merchant that is not the payment's
/// learns nothing about it (404, as if it did not exist).
/// </summary>
public static class PaymentAccess
{
    /// <summary>The route policy: a merchant or ops token; any other role is answered 403 before the endpoint runs.</summary>
    public static void MerchantOrOps(AuthorizationPolicyBuilder policy) =>
        policy.RequireAssertion(context => Caller.TryFrom(context.User) is { IsMerchant: true } or { IsOps: true });

    /// <summary>Within <see cref="MerchantOrOps"/>: ops, or the merchant of this payment. False: answer 404.</summary>
    public static bool MerchantOrOpsSees(Caller caller, PaymentRecord payment) => MerchantOrOpsSees(caller, payment.MerchantId);

    /// <summary>As above, for something that belongs to a merchant's payment (a refund).</summary>
    public static bool MerchantOrOpsSees(Caller caller, string merchantId) =>
        caller.IsOps || (caller.IsMerchant && caller.MerchantId == merchantId);
}

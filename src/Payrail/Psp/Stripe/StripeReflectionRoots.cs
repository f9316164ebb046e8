using System.Reflection;
using Stripe;

namespace Payrail.Psp.Stripe;

/// <summary>
/// Keeps the runtime's reflection data of the Stripe.net option types this connector sends alive for the life of the
/// process. Stripe.net form-encodes every request by reflection (<c>GetRuntimeProperties()</c>, then
/// <c>PropertyInfo.GetValue</c> on each property) and keeps nothing itself; the runtime caches those
/// <see cref="PropertyInfo"/> objects per type only while something references them (the type's reflection cache is
/// held weakly). So after each garbage collection the next request got new getters, and .NET emitted and compiled a new
/// <c>InvokeStub_PaymentIntentCreateOptions.get_*</c> DynamicMethod for each of them again, whose resolvers the
/// finalizer thread then cleans up. Measured with <c>dotnet-trace</c> (JIT keyword, MethodJittingStarted) on the API
/// at 100 payments/s: 28–195 methods compiled per 5 s in steady state, 40 stubs per burst, each rebuilt every few
/// seconds. Holding the property arrays holds each type's cache, so every getter's stub is emitted once.
/// </summary>
internal static class StripeReflectionRoots
{
    /// <summary>Every options type (and nested options type) the connector puts in a request.</summary>
    internal static readonly Type[] SentOptionTypes =
    [
        typeof(PaymentIntentCreateOptions), typeof(PaymentIntentAutomaticPaymentMethodsOptions),
        typeof(PaymentIntentCaptureOptions), typeof(PaymentIntentCancelOptions), typeof(PaymentIntentGetOptions),
        typeof(PaymentIntentSearchOptions), typeof(RefundCreateOptions), typeof(RefundListOptions),
        typeof(BalanceTransactionListOptions), typeof(EventListOptions), typeof(DateRangeOptions),
        typeof(global::Stripe.Reporting.ReportRunCreateOptions), typeof(global::Stripe.Reporting.ReportRunParametersOptions),
    ];

    // Read by nobody: being reachable from a static is the whole point.
    private static readonly PropertyInfo[][] Roots = [.. SentOptionTypes.Select(t => t.GetRuntimeProperties().ToArray())];

    /// <summary>Called by the connector's constructor: the roots exist before its first request.</summary>
    internal static void EnsureHeld() => GC.KeepAlive(Roots);
}

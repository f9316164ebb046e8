using Payrail.Domain.Payments;
using Payrail.Payments;
using Payrail.Psp;

namespace Payrail.Sweeper;

/// <summary>
/// An authorization not captured within <c>Payments:AuthorizationExpiry</c>: voided at the PSP under a key derived from
/// the payment (<c>&lt;payment id&gt;:void-expired</c>, so a retry or a second sweeper sends the same void), then moved to
/// VOIDED through <see cref="PaymentTransitions"/>, which voids the pending transfer in the ledger. When the PSP canceled
/// it first (Stripe and pspsim cancel an expired hold themselves), the void is refused as being in the wrong state and the
/// PaymentIntent as it stands is applied instead: canceled → voided either way. Captured meanwhile at the PSP → captured.
/// </summary>
public sealed class ExpiredAuthorizationVoid(PaymentStore payments, PaymentTransitions transitions, IPspConnector psp,
    ILogger<ExpiredAuthorizationVoid> logger)
{
    public const string Cause = "sweeper.authorization_expired";

    public static string VoidKey(Guid paymentId) => $"{paymentId}:void-expired";

    public async Task<CheckResult> VoidAsync(LeasedPayment leased, CancellationToken cancellationToken)
    {
        var payment = await payments.FindAsync(leased.Id);
        if (payment is not { Status: PaymentStatus.Authorized, PspReference: { } reference })
            return new CheckResult(false, "decided_meanwhile", payment?.Status);
        PspPayment? answer;
        try
        {
            answer = await psp.VoidAsync(reference, VoidKey(payment.Id), cancellationToken);
        }
        catch (PspRequestRejectedException e)
        {
            // Canceled (or captured) at the PSP already: its state now is the answer.
            logger.LogInformation("PSP refused to void expired authorization {PaymentId} ({Code}); applying its state", payment.Id, e.Code);
            answer = await psp.RetrieveAsync(reference, cancellationToken);
        }
        if (answer is null || PspAnswerCheck.Mismatch(payment, answer) is not null)
            return CheckResult.Unresolved("authorization_expired", payment.Status);
        var result = await transitions.ApplyAsync(payment, new PaymentTransition(PspOutcome.For(payment, answer), psp.Name, Cause), []);
        var status = result.Payment?.Status ?? payment.Status;
        if (result.Kind == TransitionResultKind.Applied)
            logger.LogInformation("Authorization of payment {PaymentId} expired uncaptured; it is {Status}", payment.Id, status.ToWire());
        return new CheckResult(result.Kind == TransitionResultKind.Applied && status != PaymentStatus.Authorized, "authorization_expired", status);
    }
}

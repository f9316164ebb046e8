using Microsoft.Extensions.Options;
using Payrail.Domain.Payments;
using Payrail.Payments;
using Payrail.Psp;

namespace Payrail.Sweeper;

/// <summary>What one check of a leased payment came to; <see cref="Cause"/> names how it was resolved (the metric's tag).</summary>
public sealed record CheckResult(bool Resolved, string Cause, PaymentStatus? Status)
{
    public static CheckResult Unresolved(string cause, PaymentStatus? status) => new(false, cause, status);
}

/// <summary>
/// Asks the PSP about one payment and applies its answer through <see cref="PaymentTransitions"/>, the path the API and
/// webhooks use. With a PSP reference: retrieve it. Without: re-issue the create under the payment's current PSP
/// idempotency key (the PSP replays the first answer or runs it now, one PaymentIntent either way); a key that answered
/// 5xx goes to <see cref="PspOutcomeResolution"/> as on the API's resume; too old to send the key again, only search.
/// A payment the search does not show, old enough (<see cref="SweepDecision.Abandon"/>), becomes FAILED: nothing was
/// charged. An unknown outcome (no answer, a mismatch, still processing at the PSP) leaves it as it is.
/// </summary>
public sealed class StuckPaymentCheck(
    PaymentStore payments,
    PaymentTransitions transitions,
    PspOutcomeResolution resolution,
    IPspConnector psp,
    SweeperStore store,
    IOptions<SweeperOptions> options,
    TimeProvider clock,
    ILogger<StuckPaymentCheck> logger)
{
    public const string Cause = "sweeper";
    public const string AbandonedCause = "sweeper.abandoned";
    public const string AbandonedCode = "abandoned";
    private readonly SweeperOptions _options = options.Value;

    public async Task<CheckResult> CheckAsync(LeasedPayment leased, CancellationToken cancellationToken)
    {
        var payment = await payments.FindAsync(leased.Id);
        if (payment is null || payment.Status is not (PaymentStatus.Initiated or PaymentStatus.Processing))
            return new CheckResult(false, "decided_meanwhile", payment?.Status); // a webhook or the API got there first
        if (payment.PspReference is { } reference)
            return await ApplyAsync(payment, await psp.RetrieveAsync(reference, cancellationToken), "retrieve");

        var now = clock.GetUtcNow();
        var age = now - payment.CreatedAt;
        var attempt = await resolution.ReadAttemptAsync(payment.Id);
        var step = SweepDecision.ForUnreferenced(age, leased.PaymentMethod is not null, attempt.ServerErrorAt is not null, _options);
        switch (step)
        {
            case UnreferencedStep.ResumeCreate:
                return await CreateAsync(payment, leased.PaymentMethod!, attempt, cancellationToken);
            case UnreferencedStep.ResolveServerError:
                var (resolved, found, next, current) = await resolution.ResolveAsync(payment, attempt, cancellationToken);
                return resolved switch
                {
                    PspResolutionStep.UseFound => await ApplyAsync(payment, found, "search"),
                    PspResolutionStep.CreateUnderNextKey => await CreateAsync(current, leased.PaymentMethod!, next, cancellationToken),
                    _ => CheckResult.Unresolved("search", payment.Status),
                };
            default:
                var searched = await psp.SearchByPaymentIdAsync(payment.Id, cancellationToken);
                if (searched is not null) return await ApplyAsync(payment, searched, "search");
                var lastCreate = Latest(payment.UpdatedAt, leased.CreateSentAt, attempt.ServerErrorAt);
                return SweepDecision.Abandon(age, now, lastCreate, psp.SearchFreshness, _options)
                    ? await AbandonAsync(payment, age)
                    : CheckResult.Unresolved("search", payment.Status);
        }
    }

    /// <summary>The create under <paramref name="attempt"/>'s key, recorded as sent first; a 5xx is recorded for the search window.</summary>
    private async Task<CheckResult> CreateAsync(PaymentRecord payment, string paymentMethod, PspAttempt attempt, CancellationToken cancellationToken)
    {
        await store.RecordCreateSentAsync(payment.Id, PaymentRecord.ToDatabasePrecision(clock.GetUtcNow()), cancellationToken);
        PspPayment answer;
        try
        {
            answer = await psp.AuthorizeAsync(PaymentCreation.AuthorizeRequest(payment, paymentMethod, attempt), cancellationToken);
        }
        // As on the API: the PSP refused the request itself (nothing created), unless the key was used otherwise.
        catch (PspRequestRejectedException e) when (e.Code != "idempotency_error")
        {
            return await ApplyOutcomeAsync(payment, PspOutcome.From(e), Cause, "resume_create");
        }
        catch (PspUnavailableException e) when (e.ServerError)
        {
            await resolution.RecordServerErrorAsync(attempt, e.Replayed);
            throw;
        }
        return await ApplyAsync(payment, answer, "resume_create");
    }

    private async Task<CheckResult> ApplyAsync(PaymentRecord payment, PspPayment? answer, string how)
    {
        if (answer is null) return CheckResult.Unresolved(how, payment.Status); // the PSP does not know the reference
        if (PspAnswerCheck.Mismatch(payment, answer) is { } field)
        {
            logger.LogError("PSP answer for stuck payment {PaymentId} disagrees with it on {Field} (PSP reference {PspReference}); it stays {Status}",
                payment.Id, field, answer.PspReference, payment.Status.ToWire());
            return CheckResult.Unresolved(how, payment.Status);
        }
        return await ApplyOutcomeAsync(payment, PspOutcome.For(payment, answer), Cause, how);
    }

    private async Task<CheckResult> ApplyOutcomeAsync(PaymentRecord payment, PspOutcome outcome, string cause, string how)
    {
        var result = await transitions.ApplyAsync(payment, new PaymentTransition(outcome, psp.Name, cause), []);
        var status = result.Payment?.Status ?? payment.Status;
        var resolved = result.Kind == TransitionResultKind.Applied && status is not (PaymentStatus.Initiated or PaymentStatus.Processing);
        return new CheckResult(resolved, how, status);
    }

    private async Task<CheckResult> AbandonAsync(PaymentRecord payment, TimeSpan age)
    {
        logger.LogWarning("Payment {PaymentId} abandoned after {AgeMinutes} min: the PSP never saw it, nothing was charged; it is failed",
            payment.Id, (long)age.TotalMinutes);
        var abandoned = new PspOutcome(PaymentEvent.Failed, null, 0, AbandonedCode, "The payment never reached the payment provider; nothing was charged.");
        return await ApplyOutcomeAsync(payment, abandoned, AbandonedCause, "abandoned");
    }

    private static DateTimeOffset Latest(DateTimeOffset first, params DateTimeOffset?[] others) =>
        others.Aggregate(first, (latest, at) => at is { } value && value > latest ? value : latest);
}

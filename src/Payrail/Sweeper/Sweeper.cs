using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Domain.Payments;
using Payrail.Payments;
using Payrail.Psp;

namespace Payrail.Sweeper;

/// <summary>What one sweep did, and the payments it left stuck (by status and age bucket).</summary>
public sealed record SweepReport(
    DateTimeOffset At,
    IReadOnlyList<Guid> Checked,
    int Resolved,
    int Voided,
    CatchUpResult CatchUp,
    IReadOnlyList<StuckCount> Stuck,
    TimeSpan Duration)
{
    public long StuckCount => Stuck.Sum(s => s.Count);

    /// <summary>Pending refunds the sweep moved (succeeded, failed or canceled at the PSP).</summary>
    public int RefundsResolved { get; init; }

    /// <summary>How long the oldest stuck payment has been in its state; null when none is stuck.</summary>
    public TimeSpan? OldestStuck => Stuck.Count == 0 ? null : At - Stuck.Min(s => s.OldestSince);

    public string Summary => $"checked {Checked.Count}, resolved {Resolved}, voided {Voided}, caught up {CatchUp.Applied}, refunds {RefundsResolved}, stuck {StuckCount}"
        + (OldestStuck is { } oldest ? $" (oldest {Math.Floor(oldest.TotalMinutes):0} min)" : "");
}

/// <summary>
/// One sweep (DESIGN.md step 7 and issue 9): lease bounded batches of stuck payments (initiated or processing past
/// <see cref="SweeperOptions.Threshold"/>, due by their backoff) and check each with the PSP
/// (<see cref="StuckPaymentCheck"/>); void authorizations past <c>Payments:AuthorizationExpiry</c>
/// (<see cref="ExpiredAuthorizationVoid"/>); catch up on missed webhooks (<see cref="EventsCatchUp"/>); count what is
/// still stuck. Several sweepers may run at once (several workers, `payrail sweep --once`): a payment is leased by one
/// at a time, and every change goes through the version-checked state path anyway.
/// </summary>
public sealed class Sweeper(
    SweeperStore store,
    StuckPaymentCheck check,
    ExpiredAuthorizationVoid expiry,
    EventsCatchUp catchUp,
    Payrail.Refunds.PendingRefundCheck refunds,
    SweeperMetrics metrics,
    IOptions<SweeperOptions> options,
    IOptions<PaymentsOptions> paymentsOptions,
    TimeProvider clock,
    ILogger<Sweeper> logger)
{
    private readonly SweeperOptions _options = options.Value;
    private readonly TimeSpan _authorizationExpiry = paymentsOptions.Value.AuthorizationExpiry;

    /// <summary>This sweeper's lease owner: only it records the checks of the payments it leased.</summary>
    public Guid Owner { get; } = Guid.NewGuid();

    public async Task<SweepReport> RunOnceAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var checkedIds = new ConcurrentBag<Guid>();
        var resolved = await SweepAsync(checkedIds, LeaseStuckAsync, check.CheckAsync, cancellationToken);
        var voided = await SweepAsync(checkedIds, LeaseExpiredAsync, expiry.VoidAsync, cancellationToken);
        var caughtUp = _options.CatchUpEnabled ? await catchUp.RunOnceAsync(Owner, cancellationToken) : new CatchUpResult(0, 0, 0);
        var refundsResolved = await refunds.RunOnceAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var stuck = await store.CountStuckAsync(now, now - _options.Threshold, cancellationToken);
        var report = new SweepReport(now, [.. checkedIds], resolved, voided, caughtUp, stuck, Stopwatch.GetElapsedTime(started))
        {
            RefundsResolved = refundsResolved,
        };
        metrics.Sweep(report.Duration, stuck);
        if (report.Checked.Count > 0 || caughtUp.Applied > 0 || refundsResolved > 0) logger.LogInformation("Sweep: {Summary}", report.Summary);
        return report;
    }

    private Task<IReadOnlyList<LeasedPayment>> LeaseStuckAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        store.LeaseStuckAsync(Owner, now, now - _options.Threshold, _options.Lease, _options.BatchSize, cancellationToken);

    private Task<IReadOnlyList<LeasedPayment>> LeaseExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        store.LeaseExpiredAuthorizationsAsync(Owner, now, now - _authorizationExpiry, _options.Lease, _options.BatchSize, cancellationToken);

    /// <summary>Leased batches until one comes back short or <see cref="SweeperOptions.MaxBatchesPerSweep"/>; returns the payments resolved.</summary>
    private async Task<int> SweepAsync(ConcurrentBag<Guid> checkedIds,
        Func<DateTimeOffset, CancellationToken, Task<IReadOnlyList<LeasedPayment>>> lease,
        Func<LeasedPayment, CancellationToken, Task<CheckResult>> checkOne, CancellationToken cancellationToken)
    {
        var resolved = 0;
        for (var batch = 0; batch < _options.MaxBatchesPerSweep; batch++)
        {
            var leased = await lease(clock.GetUtcNow(), cancellationToken);
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentChecks, CancellationToken = cancellationToken };
            await Parallel.ForEachAsync(leased, parallel, async (payment, token) =>
            {
                checkedIds.Add(payment.Id);
                if (await CheckAndRecordAsync(payment, checkOne, token)) Interlocked.Increment(ref resolved);
            });
            if (leased.Count < _options.BatchSize) break;
        }
        return resolved;
    }

    /// <summary>One payment's check within its deadline, then its backoff recorded and its lease freed. True when resolved.</summary>
    private async Task<bool> CheckAndRecordAsync(LeasedPayment payment, Func<LeasedPayment, CancellationToken, Task<CheckResult>> checkOne,
        CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.CheckTimeout);
        CheckResult? result = null;
        try
        {
            result = await checkOne(payment, deadline.Token);
        }
        catch (Exception e) when (e is PspUnavailableException or PspRequestRejectedException or NpgsqlException
                                  || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // The outcome stays unknown: the payment keeps its state and is asked again after its backoff.
            metrics.Check("failed");
            logger.LogWarning("Sweeper check of payment {PaymentId} failed ({Error}); asked again later", payment.Id, e.GetType().Name);
        }
        // A bug about one payment (a broken invariant) is loud, but must not stop the worker's other loops: the payment
        // is asked again after its backoff, the others go on.
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.Check("failed");
            logger.LogError(e, "Sweeper check of payment {PaymentId} failed unexpectedly; asked again later", payment.Id);
        }
        var checks = payment.Checks + 1;
        var now = clock.GetUtcNow();
        await store.RecordCheckAsync(payment.Id, Owner, now + SweepDecision.Backoff(checks, _options), CancellationToken.None);
        if (result is null) return false;
        metrics.Check(result.Resolved ? "resolved" : "unresolved");
        if (result.Resolved)
        {
            metrics.Resolution(result.Cause);
            return true;
        }
        if (result.Status is { } status && result.Cause != "decided_meanwhile")
            logger.LogWarning("Payment {PaymentId} still {Status} after {Checks} sweeper checks, unchanged for {StuckMinutes} min; next check in {BackoffSeconds} s",
                payment.Id, status.ToWire(), checks, (long)(now - payment.UpdatedAt).TotalMinutes,
                (long)SweepDecision.Backoff(checks, _options).TotalSeconds);
        return false;
    }
}

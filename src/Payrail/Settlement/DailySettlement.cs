using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Domain.Ledger;
using Payrail.Domain.Money;
using Payrail.Domain.Payments;
using Payrail.Ledger;
using Payrail.Payments;
using Payrail.Psp;

namespace Payrail.Settlement;

/// <summary>
/// One settlement run for a date (issue 11, "Settlement"): reads the PSP's balance transactions through the connector
/// (paged, each call on the connector's timeout, at most Stripe:MaxSettlementLines), and for each charge the PSP has
/// released (<c>status: available</c>, the PSP's own clock) whose payment is CAPTURED here, moves the payment to SETTLED
/// through <see cref="PaymentTransitions"/> with the fee, cash and conversion transfers and its settlement row in the
/// same batch (<see cref="SettlementPosting"/>). Re-running a date, or two runs at once, change nothing more: a settled
/// payment is no longer CAPTURED, the version check lets one writer win, and every transfer id derives from the payment.
/// </summary>
public sealed class DailySettlement(IPspConnector psp, PaymentStore payments, PaymentTransitions transitions, SettlementStore store,
    SettlementMetrics metrics, IOptions<SettlementOptions> options, TimeProvider clock, ILogger<DailySettlement> logger)
{
    public const string Cause = "settlement";

    private readonly SettlementOptions _options = options.Value;
    private readonly LedgerWrites _ledger = new();

    public async Task<SettlementReport> RunOnceAsync(DateOnly date, string trigger, CancellationToken cancellationToken)
    {
        var started = clock.GetUtcNow();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.RunTimeout);
        try
        {
            var report = await SettleAsync(date, trigger, started, deadline.Token);
            await store.RecordRunAsync(report, deadline.Token);
            metrics.Run(report);
            if (report.Settled + report.Refused > 0) logger.LogInformation("Settlement {Summary}", report.Summary);
            return report;
        }
        catch
        {
            metrics.Failed(clock.GetUtcNow() - started);
            throw;
        }
    }

    private async Task<SettlementReport> SettleAsync(DateOnly date, string trigger, DateTimeOffset started, CancellationToken cancellationToken)
    {
        var from = new DateTimeOffset(date.AddDays(-_options.LookbackDays).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var to = new DateTimeOffset(date.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var charges = new List<PspSettlementLine>();
        var linesRead = 0;
        await foreach (var line in psp.ListSettlementLinesAsync(from, to, cancellationToken))
        {
            linesRead++;
            if (line.Type == "charge" && line.PspReference is not null) charges.Add(line);
        }

        var available = charges.Where(IsAvailable).ToList();
        int settled = 0, unchanged = 0, refused = 0;
        foreach (var batch in available.Chunk(_options.LookupBatchSize))
        {
            var captured = await store.AwaitingSettlementAsync(psp.Name, batch.Select(l => l.PspReference!).Distinct().ToList(), cancellationToken);
            foreach (var line in batch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var outcome = captured.Contains(line.PspReference!) ? await SettleOneAsync(line, date) : Outcome.Unchanged;
                if (outcome == Outcome.Settled) settled++;
                else if (outcome == Outcome.Unchanged) unchanged++;
                else refused++;
            }
        }
        return new SettlementReport(date, trigger, started, clock.GetUtcNow() - started, linesRead, settled, unchanged,
            charges.Count - available.Count, refused);
    }

    /// <summary>The PSP's word that the funds are released; a status it does not send yet counts as not released.</summary>
    private static bool IsAvailable(PspSettlementLine line) => line.Status == "available";

    private enum Outcome { Settled, Unchanged, Refused }

    private async Task<Outcome> SettleOneAsync(PspSettlementLine line, DateOnly date)
    {
        var payment = await payments.FindByPspReferenceAsync(psp.Name, line.PspReference!);
        if (payment is null) return Outcome.Unchanged;
        if (SettlementPosting.RefundedBeforeSettlement(payment)) return await SettleRefundedAsync(payment, line, date);
        if (payment.Status != PaymentStatus.Captured) return Outcome.Unchanged;
        if (!Currency.TryFromCode(line.CurrencyCode, out var settlementCurrency))
            return Refuse(payment, line, "unknown settlement currency");
        var booked = new SettlementBooking(settlementCurrency, line.AmountMinor, line.FeeMinor, line.NetMinor);
        var rules = new LedgerPostingRules(payment.Id, payment.BuyerId, payment.MerchantId, Currency.FromCode(payment.CurrencyCode));
        if (rules.SettlementRefusal(payment.AmountCapturedMinor, booked) is { } refusal) return Refuse(payment, line, refusal);

        var posting = new SettlementPosting(_ledger, psp.Name, line, booked, date, PaymentRecord.ToDatabasePrecision(clock.GetUtcNow()));
        var transition = new PaymentTransition(
            new PspOutcome(PaymentEvent.Settled, payment.PspReference, payment.AmountCapturedMinor, null, null), psp.Name, Cause);
        try
        {
            var result = await transitions.ApplyAsync(payment, transition, [posting]);
            return result.Kind switch
            {
                TransitionResultKind.Applied => Outcome.Settled,
                TransitionResultKind.AlreadyApplied or TransitionResultKind.Stale => Outcome.Unchanged,
                _ => Refuse(payment, line, $"state change {result.Kind}"),
            };
        }
        catch (PostgresException e) when (e.SqlState == LedgerSqlState.BalanceLimitExceeded)
        {
            // The merchant's payable balance in the payment's currency cannot give the captured amount to the conversion
            // (refunded meanwhile): nothing was written; the payment stays CAPTURED and the next run tries again.
            return Refuse(payment, line, "payable balance too small for the conversion");
        }
    }

    /// <summary>
    /// A payment refunded in full before the PSP released it: REFUNDED → SETTLED is stale in the state machine (REFUNDED is
    /// where the payment ends), but the PSP still charged its fee and still releases the charge's net, so both are posted
    /// with the payment_settlements row and no state change, against the payment's version (<see cref="PaymentTransitions.RecordAsync"/>).
    /// A re-run finds the settlement row and posts nothing; a concurrent run's identical transfers are skipped by the
    /// ledger and its settlement row is refused by the primary key (then unchanged). A strict merchant's payable may go below
    /// zero by that fee (LedgerAccounts.IsFeeCharge). Settled in another currency, it is refused: its captured amount was
    /// refunded in the payment's currency and there is nothing left to convert.
    /// </summary>
    private async Task<Outcome> SettleRefundedAsync(PaymentRecord payment, PspSettlementLine line, DateOnly date)
    {
        if (!string.Equals(line.CurrencyCode, payment.CurrencyCode, StringComparison.OrdinalIgnoreCase))
            return Refuse(payment, line, "refunded before settlement, settled in another currency");
        var booked = new SettlementBooking(Currency.FromCode(payment.CurrencyCode), line.AmountMinor, line.FeeMinor, line.NetMinor);
        var rules = new LedgerPostingRules(payment.Id, payment.BuyerId, payment.MerchantId, booked.Currency);
        if (rules.SettlementRefusal(payment.AmountCapturedMinor, booked) is { } refusal) return Refuse(payment, line, refusal);
        var posting = new SettlementPosting(_ledger, psp.Name, line, booked, date, PaymentRecord.ToDatabasePrecision(clock.GetUtcNow()));
        try
        {
            var result = await transitions.RecordAsync(payment, [posting]);
            // Recorded against the payment as it then stood: a refund reversed meanwhile took it back to CAPTURED (the
            // posting added nothing then; the next run settles it the usual way).
            if (!result.Committed) return Refuse(payment, line, $"state change {result.Kind}");
            return SettlementPosting.RefundedBeforeSettlement(result.Payment!) ? Outcome.Settled : Outcome.Unchanged;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Outcome.Unchanged; // a concurrent run settled it first
        }
    }

    private Outcome Refuse(PaymentRecord payment, PspSettlementLine line, string reason)
    {
        logger.LogWarning("Settlement of payment {PaymentId} from balance transaction {BalanceTransaction} refused: {Reason}",
            payment.Id, line.Id, reason);
        return Outcome.Refused;
    }
}

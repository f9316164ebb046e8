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
/// Speed (63,433 lines took 385 s, one lookup, one transaction and one commit per payment): payments are read by lookup
/// batch, and CAPTURED ones move to SETTLED Settlement:WriteBatchSize at a time, each through the same planned,
/// version-checked write, in one transaction (<see cref="PaymentTransitions.ApplyAllAsync"/>); a batch that cannot commit
/// whole (a version moved, a flag refused a conversion) is written again one payment at a time, which decides each.
/// </summary>
public sealed class DailySettlement(IPspConnector psp, PaymentStore payments, PaymentTransitions transitions, SettlementStore store,
    NpgsqlDataSource database, SettlementMetrics metrics, IOptions<SettlementOptions> options, TimeProvider clock, ILogger<DailySettlement> logger)
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
        var refundLines = new Dictionary<string, List<PspSettlementLine>>(StringComparer.Ordinal);
        var linesRead = 0;
        await foreach (var line in psp.ListSettlementLinesAsync(from, to, cancellationToken))
        {
            linesRead++;
            if (line.Type == "charge" && line.PspReference is not null) charges.Add(line);
            else if (RefundLineBookings.IsRefundSide(line))
            {
                if (!refundLines.TryGetValue(line.PspReference!, out var own)) refundLines[line.PspReference!] = own = [];
                own.Add(line);
            }
        }

        var available = charges.Where(IsAvailable).ToList();
        int settled = 0, unchanged = 0, refused = 0;
        void Count(Outcome outcome)
        {
            if (outcome == Outcome.Settled) settled++;
            else if (outcome == Outcome.Unchanged) unchanged++;
            else refused++;
        }
        var attempted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var batch in available.Chunk(_options.LookupBatchSize))
        {
            var references = batch.Select(l => l.PspReference!).Distinct().ToList();
            var captured = await store.AwaitingSettlementAsync(psp.Name, references, cancellationToken);
            var refunds = await store.RefundStatusesAsync(psp.Name, RefundIdsOf(captured, refundLines), cancellationToken);
            var found = await payments.FindByPspReferencesAsync(psp.Name, references.Where(captured.Contains).ToList());
            var moves = new List<Move>(batch.Length);
            foreach (var line in batch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!captured.Contains(line.PspReference!) || !found.TryGetValue(line.PspReference!, out var payment))
                {
                    unchanged++;
                    continue;
                }
                attempted.Add(line.PspReference!);
                var lines = LinesOf(refundLines, line.PspReference!);
                var planned = Plan(payment, line, lines, refunds, date);
                // Refunded in full before settlement (no state change, recorded against the payment) or refused: one by one.
                var outcome = planned is { Outcome: null, Refunded: false } ? (Outcome?)null
                    : planned.Outcome ?? await SettleRefundedAsync(payment, line, planned.Posting!);
                if (outcome is null) moves.Add(new Move(payment, line, lines, planned.Posting!));
                else Count(outcome.Value);
            }
            foreach (var chunk in moves.Chunk(_options.WriteBatchSize))
            {
                foreach (var outcome in await SettleAllAsync(chunk, refunds, date)) Count(outcome);
            }
        }
        var (converted, conversionsRefused) = await ConvertLaterRefundsAsync(refundLines, attempted, cancellationToken);
        return new SettlementReport(date, trigger, started, clock.GetUtcNow() - started, linesRead, settled, unchanged,
            charges.Count - available.Count, refused + conversionsRefused) { RefundLinesConverted = converted };
    }

    private static IReadOnlyList<PspSettlementLine> LinesOf(Dictionary<string, List<PspSettlementLine>> refundLines, string reference) =>
        refundLines.TryGetValue(reference, out var lines) ? lines : [];

    private static List<string> RefundIdsOf(IEnumerable<string> references, Dictionary<string, List<PspSettlementLine>> refundLines) =>
        references.SelectMany(r => LinesOf(refundLines, r)).Select(l => l.SourceId).OfType<string>().Distinct().ToList();

    /// <summary>
    /// Refund-side balance transactions of payments already settled in another currency (a refund after settlement, a
    /// refund's failure) that the books have not converted yet: converted against each payment as it stands, version-checked.
    /// Lines converted by an earlier run are known by their transfer ids and left alone (a re-run writes nothing).
    /// Returns how many lines were converted and how many payments' conversions were refused (logged; the next run retries).
    /// </summary>
    private async Task<(int Converted, int Refused)> ConvertLaterRefundsAsync(Dictionary<string, List<PspSettlementLine>> refundLines,
        HashSet<string> attempted, CancellationToken cancellationToken)
    {
        int converted = 0, refused = 0;
        foreach (var batch in refundLines.Keys.Where(r => !attempted.Contains(r)).Chunk(_options.LookupBatchSize))
        {
            var settledIn = await store.SettledInAnotherCurrencyAsync(psp.Name, batch, cancellationToken);
            if (settledIn.Count == 0) continue;
            var statuses = await store.RefundStatusesAsync(psp.Name, RefundIdsOf(settledIn.Keys, refundLines), cancellationToken);
            // A line is converted once either leg is in the books: a backed refund's line has only one (ConvertBackedRefund).
            var legs = settledIn.SelectMany(s => refundLines[s.Key].SelectMany(l => LegIds(s.Value.PaymentId, l))).ToList();
            var posted = await store.ExistingTransfersAsync(legs, cancellationToken);
            foreach (var (reference, (paymentId, currencyCode)) in settledIn)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var remaining = refundLines[reference].Where(l => !LegIds(paymentId, l).Any(posted.Contains)).ToList();
                if (remaining.Count == 0) continue;
                var outcome = await ConvertOneAsync(reference, Currency.FromCode(currencyCode), remaining, statuses, cancellationToken);
                if (outcome < 0) refused++;
                else converted += outcome;
            }
        }
        return (converted, refused);
    }

    private static Guid[] LegIds(Guid paymentId, PspSettlementLine line) =>
        [TransferIds.For(paymentId, TransferSteps.RefundFxCredit(line.Id)), TransferIds.For(paymentId, TransferSteps.RefundFxDebit(line.Id))];

    /// <summary>The lines converted (0: none convert yet, or a concurrent run converted them), or −1 when refused.</summary>
    private async Task<int> ConvertOneAsync(string reference, Currency settlement, List<PspSettlementLine> lines, IReadOnlyDictionary<string, string> statuses,
        CancellationToken cancellationToken)
    {
        var payment = await payments.FindByPspReferenceAsync(psp.Name, reference);
        if (payment is null) return 0;
        var (bookings, refusal) = RefundLineBookings.For(payment, settlement, lines, statuses);
        if (refusal is not null) return Refuse(payment, lines[0], refusal) == Outcome.Refused ? -1 : 0;
        if (bookings.Count == 0) return 0;
        try
        {
            var backed = await store.BackedRefundsAsync(psp.Name, payment.Id, lines, cancellationToken);
            var result = await transitions.RecordAsync(payment, [new RefundConversionPosting(_ledger, bookings, backed)]);
            return result.Committed ? bookings.Count : Refuse(payment, lines[0], $"state change {result.Kind}") == Outcome.Refused ? -1 : 0;
        }
        catch (PostgresException e) when (e.SqlState == LedgerSqlState.BalanceLimitExceeded)
        {
            Refuse(payment, lines[0], "payable balance too small for a refund's conversion");
            return -1;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return 0; // a concurrent run converted them first
        }
    }

    /// <summary>The PSP's word that the funds are released; a status it does not send yet counts as not released.</summary>
    private static bool IsAvailable(PspSettlementLine line) => line.Status == "available";

    private enum Outcome { Settled, Unchanged, Refused }

    /// <summary>A CAPTURED payment's settlement, planned and ready to write with others.</summary>
    private sealed record Move(PaymentRecord Payment, PspSettlementLine Line, IReadOnlyList<PspSettlementLine> RefundLines, SettlementPosting Posting);

    /// <summary>What settles the payment by this line: its posting, or the outcome when it does not settle now (unchanged, refused).</summary>
    private (SettlementPosting? Posting, bool Refunded, Outcome? Outcome) Plan(PaymentRecord payment, PspSettlementLine line,
        IReadOnlyList<PspSettlementLine> refundLines, IReadOnlyDictionary<string, string> refundStatuses, DateOnly date)
    {
        var refunded = SettlementPosting.RefundedBeforeSettlement(payment);
        if (!refunded && payment.Status != PaymentStatus.Captured) return (null, refunded, Outcome.Unchanged);
        if (!Currency.TryFromCode(line.CurrencyCode, out var settlementCurrency))
            return (null, refunded, Refuse(payment, line, "unknown settlement currency"));
        var booked = new SettlementBooking(settlementCurrency, line.AmountMinor, line.FeeMinor, line.NetMinor);
        var rules = new LedgerPostingRules(payment.Id, payment.BuyerId, payment.MerchantId, Currency.FromCode(payment.CurrencyCode));
        // In the payment's own currency a refund needs no conversion: its own transfer took it from the merchant.
        IReadOnlyList<RefundBooking> refunds = [];
        if (settlementCurrency != rules.Currency)
        {
            var (bookings, bad) = RefundLineBookings.For(payment, settlementCurrency, refundLines, refundStatuses);
            if (bad is not null) return (null, refunded, Refuse(payment, line, bad));
            refunds = bookings;
        }
        if (rules.SettlementRefusal(payment.AmountCapturedMinor, booked, refunds) is { } refusal) return (null, refunded, Refuse(payment, line, refusal));
        return (new SettlementPosting(_ledger, psp.Name, line, booked, refunds, date, PaymentRecord.ToDatabasePrecision(clock.GetUtcNow())), refunded, null);
    }

    private PaymentTransition Settles(PaymentRecord payment) =>
        new(new PspOutcome(PaymentEvent.Settled, payment.PspReference, payment.AmountCapturedMinor, null, null), psp.Name, Cause);

    /// <summary>
    /// Moves a batch of CAPTURED payments to SETTLED in one transaction; when it cannot commit whole, each again on its own
    /// (re-read, re-planned, its own outcome). Account ids are learned first, so that the batch's transfers name them.
    /// </summary>
    private async Task<IReadOnlyList<Outcome>> SettleAllAsync(IReadOnlyList<Move> moves, IReadOnlyDictionary<string, string> refundStatuses, DateOnly date)
    {
        await _ledger.LearnAccountsAsync(database, moves.SelectMany(m => m.Posting.Steps(m.Payment)).ToList());
        var applied = await transitions.ApplyAllAsync(moves.Select(m => (m.Payment, Settles(m.Payment), (IReadOnlyList<ITransitionCommand>)[m.Posting])).ToList());
        if (applied is not null) return moves.Select(_ => Outcome.Settled).ToList();
        var outcomes = new List<Outcome>(moves.Count);
        foreach (var move in moves) outcomes.Add(await SettleOneAsync(move.Line, move.RefundLines, refundStatuses, date));
        return outcomes;
    }

    private async Task<Outcome> SettleOneAsync(PspSettlementLine line, IReadOnlyList<PspSettlementLine> refundLines,
        IReadOnlyDictionary<string, string> refundStatuses, DateOnly date)
    {
        var payment = await payments.FindByPspReferenceAsync(psp.Name, line.PspReference!);
        if (payment is null) return Outcome.Unchanged;
        var (posting, refunded, decided) = Plan(payment, line, refundLines, refundStatuses, date);
        if (decided is { } outcome) return outcome;
        if (refunded) return await SettleRefundedAsync(payment, line, posting!);
        try
        {
            var result = await transitions.ApplyAsync(payment, Settles(payment), [posting!]);
            return result.Kind switch
            {
                TransitionResultKind.Applied => Outcome.Settled,
                TransitionResultKind.AlreadyApplied or TransitionResultKind.Stale => Outcome.Unchanged,
                _ => Refuse(payment, line, $"state change {result.Kind}"),
            };
        }
        catch (PostgresException e) when (e.SqlState == LedgerSqlState.BalanceLimitExceeded)
        {
            // The merchant's payable balance cannot give what the conversion takes (e.g. a refund the PSP booked in the
            // payment's currency that the books have not seen yet): nothing was written; the payment stays CAPTURED and
            // the next run tries again.
            return Refuse(payment, line, "payable balance too small for the conversion");
        }
    }

    /// <summary>
    /// A payment refunded in full before the PSP released it: REFUNDED → SETTLED is stale in the state machine (REFUNDED is
    /// where the payment ends), but the PSP still charged its fee and still releases the charge's net, so both are posted
    /// with the payment_settlements row and no state change, against the payment's version (<see cref="PaymentTransitions.RecordAsync"/>).
    /// A re-run finds the settlement row and posts nothing; a concurrent run's identical transfers are skipped by the
    /// ledger and its settlement row is refused by the primary key (then unchanged). A strict merchant's payable may go below
    /// zero by that fee (LedgerAccounts.IsFeeCharge). Settled in another currency, the captured amount and each refund are
    /// converted as the PSP booked them (<see cref="LedgerPostingRules.SettleWithRefunds"/>): the merchant's balance in the
    /// payment's currency ends at zero, the one in the settlement currency keeps what the PSP kept.
    /// </summary>
    private async Task<Outcome> SettleRefundedAsync(PaymentRecord payment, PspSettlementLine line, SettlementPosting posting)
    {
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
        catch (PostgresException e) when (e.SqlState == LedgerSqlState.BalanceLimitExceeded)
        {
            return Refuse(payment, line, "payable balance too small for the conversion");
        }
    }

    private Outcome Refuse(PaymentRecord payment, PspSettlementLine line, string reason)
    {
        logger.LogWarning("Settlement of payment {PaymentId} from balance transaction {BalanceTransaction} refused: {Reason}",
            payment.Id, line.Id, reason);
        return Outcome.Refused;
    }
}

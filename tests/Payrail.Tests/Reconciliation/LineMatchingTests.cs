using Payrail.Reconciliation;
using Xunit;

namespace Payrail.Tests.Reconciliation;

/// <summary>The pure decision for one key (<see cref="LineMatching"/>), without a database: exact amounts, timing, ownership.</summary>
public sealed class LineMatchingTests
{
    private static readonly DateTimeOffset Day = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);
    private static readonly ReconciliationWindow Window = new(Day, Day.AddDays(1));
    private static readonly MatchingClock Clock = new(Day.AddDays(1).AddHours(3), TimeSpan.FromMinutes(15), TimeSpan.FromDays(2));

    [Fact]
    public void A_charge_captured_for_the_same_amount_and_currency_matches_and_one_minor_unit_more_is_an_amount_mismatch()
    {
        Assert.Equal(Buckets.Matched, One([Charge(1_999)], Captured(1_999)).Bucket);
        Assert.Equal(Buckets.AmountMismatch, One([Charge(1_999)], Captured(2_000)).Bucket);
        Assert.Equal(Buckets.AmountMismatch, One([Charge(1_999)], Captured(1_999) with { CurrencyCode = "EUR" }).Bucket);
    }

    [Fact]
    public void A_fee_matches_only_the_fee_settlement_booked_exactly()
    {
        Assert.Equal(Buckets.Matched, One([Fee(88)], Settled(88)).Bucket);
        Assert.Equal(Buckets.FeeMismatch, One([Fee(88)], Settled(87)).Bucket);
    }

    [Fact]
    public void A_fee_of_a_payment_not_yet_settled_is_expected_until_the_release_plus_grace_then_a_status_mismatch()
    {
        var unsettled = Settled(88) with { AmountMinor = null, CurrencyCode = null };
        Assert.Equal(Buckets.Expected, One([Fee(88) with { AvailableOn = Clock.Now }], unsettled).Bucket);
        Assert.Equal(Buckets.StatusMismatch, One([Fee(88) with { AvailableOn = Clock.Now - TimeSpan.FromDays(3) }], unsettled).Bucket);
    }

    [Fact]
    public void A_capture_Payrail_holds_as_processing_is_replayed_once_and_reported_repaired_afterwards()
    {
        var behind = One([Charge(500)], Captured(0) with { Status = "processing" });
        Assert.Equal((Buckets.MissingInPayrail, LineAction.ReplayPayment), (behind.Bucket, behind.Action));

        var replayedStillBehind = One([Charge(500)], Captured(0) with { Status = "processing", Replayed = true });
        Assert.Equal((Buckets.MissingInPayrail, LineAction.None), (replayedStillBehind.Bucket, replayedStillBehind.Action));

        Assert.Equal(Buckets.Repaired, One([Charge(500)], Captured(500) with { Replayed = true }).Bucket);
    }

    [Fact]
    public void A_young_line_without_its_counterpart_is_expected_an_old_one_is_a_break()
    {
        var young = Charge(500) with { CreatedAt = Clock.Now - TimeSpan.FromMinutes(1) };
        Assert.Equal(Buckets.Expected, Decide([young], null, new ReconciliationWindow(Day, Clock.Now)).Single().Bucket);
        Assert.Equal(Buckets.MissingInPayrail, One([Charge(500)], null).Bucket);
        Assert.Equal(Buckets.MissingAtPsp, One([], Captured(500)).Bucket);
    }

    [Fact]
    public void A_key_belongs_to_the_window_of_its_PSP_line_so_a_pair_split_by_midnight_is_decided_once()
    {
        var lateCharge = Charge(500) with { CreatedAt = Day.AddDays(1).AddSeconds(-1) };
        var nextDayCapture = Captured(500) with { At = Day.AddDays(1).AddSeconds(1) };
        Assert.Equal(Buckets.Matched, Decide([lateCharge], nextDayCapture, Window).Single().Bucket);
        Assert.Empty(Decide([lateCharge], nextDayCapture, new ReconciliationWindow(Day.AddDays(1), Day.AddDays(2))));
    }

    [Fact]
    public void Two_PSP_lines_for_one_charge_are_the_first_compared_and_the_second_a_duplicate()
    {
        var verdicts = Decide([Charge(500), Charge(500) with { LineId = "txn_2" }], Captured(500), Window);
        Assert.Equal([Buckets.Matched, Buckets.Duplicate], verdicts.Select(v => v.Bucket));
    }

    [Fact]
    public void A_refund_the_PSP_decided_while_Payrail_waits_is_replayed_and_one_Payrail_calls_failed_but_the_PSP_succeeded_is_a_status_mismatch()
    {
        var refund = new PspLine("re_1|refund", LineKind.Refund, "txn_r", "re_1", 300, "USD", "succeeded", -300, Day.AddHours(2), Day.AddHours(2));
        var pending = new PayrailLine("re_1|refund", LineKind.Refund, Guid.NewGuid(), Guid.NewGuid(), "pending", 300, "USD", Day.AddHours(2));
        Assert.Equal((Buckets.MissingInPayrail, LineAction.ReplayRefund), (One([refund], pending).Bucket, One([refund], pending).Action));
        Assert.Equal(Buckets.StatusMismatch, One([refund], pending with { Status = "failed" }).Bucket);
        Assert.Equal(Buckets.Matched, One([refund], pending with { Status = "succeeded" }).Bucket);
    }

    private static LineVerdict One(IReadOnlyList<PspLine> psp, PayrailLine? payrail) => Decide(psp, payrail, Window).Single();

    private static IReadOnlyList<LineVerdict> Decide(IReadOnlyList<PspLine> psp, PayrailLine? payrail, ReconciliationWindow window) =>
        LineMatching.Decide(psp, payrail, window, Clock);

    private static PspLine Charge(long amount) =>
        new("pi_1|charge", LineKind.Charge, "txn_1", "pi_1", amount, "USD", "succeeded", amount - 30, Day.AddHours(1), Day.AddDays(3));

    private static PspLine Fee(long fee) => new("pi_1|fee", LineKind.Fee, "txn_1", "pi_1", fee, "USD", "succeeded", 1_000 - fee, Day.AddHours(1), Day.AddDays(3));

    private static PayrailLine Captured(long amount) =>
        new("pi_1|charge", LineKind.Charge, Guid.Parse("00000000-0000-0000-0000-000000000001"), null, "captured", amount, "USD", Day.AddHours(1));

    private static PayrailLine Settled(long fee) =>
        new("pi_1|fee", LineKind.Fee, Guid.Parse("00000000-0000-0000-0000-000000000001"), null, "settled", fee, "USD", Day.AddHours(1), fee, 1_000 - fee);
}

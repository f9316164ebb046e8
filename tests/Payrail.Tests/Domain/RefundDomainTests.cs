using CsCheck;
using Payrail.Domain.Payments;
using Payrail.Domain.Refunds;
using Xunit;

namespace Payrail.Tests.Domain;

public sealed class RefundDomainTests
{
    /// <summary>The refund lifecycle, written out by hand: a move, "already", or "stale". Abbreviations: P S F C.</summary>
    public static TheoryData<RefundStatus, RefundStatus, string> Lifecycle()
    {
        var columns = new[] { RefundStatus.Pending, RefundStatus.Succeeded, RefundStatus.Failed, RefundStatus.Canceled };
        var rows = new (RefundStatus From, string[] Cells)[]
        {
            //                          Pending    Succeeded  Failed     Canceled
            (RefundStatus.Pending,   ["already", "Succeed", "Release", "Release"]),
            (RefundStatus.Succeeded, ["stale",   "already", "Reverse", "Reverse"]),
            (RefundStatus.Failed,    ["stale",   "stale",   "already", "stale"]),
            (RefundStatus.Canceled,  ["stale",   "stale",   "stale",   "already"]),
        };
        var data = new TheoryData<RefundStatus, RefundStatus, string>();
        foreach (var (from, cells) in rows)
            for (var i = 0; i < columns.Length; i++) data.Add(from, columns[i], cells[i]);
        return data;
    }

    [Theory]
    [MemberData(nameof(Lifecycle))]
    public void Every_refund_status_pair_has_the_designed_outcome(RefundStatus from, RefundStatus to, string expected)
    {
        var step = RefundLifecycle.Apply(from, to);

        var actual = step.Outcome switch
        {
            RefundStepOutcome.Accepted => step.Move!.Value.ToString(),
            RefundStepOutcome.AlreadyApplied => "already",
            _ => "stale",
        };
        Assert.Equal(expected, actual);
        Assert.Equal(step.Outcome == RefundStepOutcome.Accepted, step.Move is not null);
    }

    /// <summary>Reserve from every status: only a captured or settled payment with room takes a refund.</summary>
    [Theory]
    [InlineData(PaymentStatus.Initiated, "not_refundable")]
    [InlineData(PaymentStatus.Processing, "not_refundable")]
    [InlineData(PaymentStatus.Authorized, "not_refundable")]
    [InlineData(PaymentStatus.Captured, null)]
    [InlineData(PaymentStatus.Settled, null)]
    [InlineData(PaymentStatus.Failed, "not_refundable")]
    [InlineData(PaymentStatus.Voided, "not_refundable")]
    public void A_reservation_is_taken_only_by_a_captured_or_settled_payment(PaymentStatus status, string? rejection)
    {
        var captured = status is PaymentStatus.Captured or PaymentStatus.Settled ? 1_000 : 0;
        var plan = PaymentRefunds.Apply(new RefundBalance(status, captured, 0, 0, null), RefundMove.Reserve, 100);

        Assert.Equal(rejection, plan.Rejection?.Code);
        if (plan.IsAccepted) Assert.Equal(100, plan.After.PendingMinor);
    }

    [Fact]
    public void A_refunded_payment_takes_no_reservation()
    {
        var plan = PaymentRefunds.Apply(new RefundBalance(PaymentStatus.Refunded, 1_000, 1_000, 0, PaymentStatus.Captured), RefundMove.Reserve, 1);
        Assert.Equal(PaymentRefunds.NotRefundableCode, plan.Rejection?.Code);
    }

    [Fact]
    public void Pending_refunds_hold_their_amount_out_of_what_can_be_refunded()
    {
        var balance = new RefundBalance(PaymentStatus.Captured, 1_000, 300, 600, null);

        Assert.Equal(PaymentRefunds.ExceedsRefundableCode, PaymentRefunds.Apply(balance, RefundMove.Reserve, 101).Rejection?.Code);
        Assert.Equal(1_000, PaymentRefunds.Apply(balance, RefundMove.Reserve, 100).After is var a ? a.RefundedMinor + a.PendingMinor : 0);
    }

    [Theory]
    [InlineData(PaymentStatus.Captured)]
    [InlineData(PaymentStatus.Settled)]
    public void The_refund_that_completes_the_capture_moves_the_payment_to_refunded_and_a_later_failure_moves_it_back(PaymentStatus from)
    {
        var reserved = PaymentRefunds.Apply(new RefundBalance(from, 1_000, 600, 0, null), RefundMove.Reserve, 400).After;
        var completed = PaymentRefunds.Apply(reserved, RefundMove.Succeed, 400);

        Assert.Equal(new RefundBalance(PaymentStatus.Refunded, 1_000, 1_000, 0, from), completed.After);
        Assert.Equal([new TransitionStep(from, PaymentStatus.Refunded)], completed.Steps);

        var reversed = PaymentRefunds.Apply(completed.After, RefundMove.Reverse, 400);
        Assert.Equal(new RefundBalance(from, 1_000, 600, 0, null), reversed.After);
        Assert.Equal([new TransitionStep(PaymentStatus.Refunded, from)], reversed.Steps);
    }

    [Fact]
    public void A_move_whose_reservation_or_refunded_amount_is_gone_is_refund_moved_and_changes_nothing()
    {
        var balance = new RefundBalance(PaymentStatus.Captured, 1_000, 100, 50, null);

        foreach (var (move, amount) in new[] { (RefundMove.Succeed, 51L), (RefundMove.Release, 51L), (RefundMove.Reverse, 101L) })
        {
            var plan = PaymentRefunds.Apply(balance, move, amount);
            Assert.Equal(PaymentRefunds.RefundMovedCode, plan.Rejection?.Code);
            Assert.Equal(balance, plan.After);
        }
    }

    [Fact]
    public void A_broken_balance_or_a_non_positive_amount_is_a_bug_that_plans_nothing()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PaymentRefunds.Apply(new RefundBalance(PaymentStatus.Captured, 1_000, 0, 0, null), RefundMove.Reserve, 0));
        Assert.Throws<InvalidOperationException>(() => PaymentRefunds.Apply(new RefundBalance(PaymentStatus.Captured, 1_000, 800, 300, null), RefundMove.Release, 1));
        Assert.Throws<InvalidOperationException>(() => PaymentRefunds.Apply(new RefundBalance(PaymentStatus.Captured, 1_000, 1_000, 0, null), RefundMove.Reverse, 1));
    }

    /// <summary>
    /// Random refunds (reserve, then succeed, release or reverse once succeeded) on one payment, applied only when the
    /// plan accepts: the balance invariant always holds, refunded equals the succeeded refunds, pending the pending ones,
    /// and the status is REFUNDED exactly when the capture is wholly refunded.
    /// </summary>
    [Fact]
    public void Any_sequence_of_refund_moves_keeps_the_balance_consistent_with_its_refunds()
    {
        var steps = Gen.Select(Gen.Int[0, 3], Gen.Int[0, 9], Gen.Long[1, 700]).Array[1, 40];
        Gen.Select(Gen.Long[1, 2_000], Gen.Bool, steps).Sample((captured, settled, ops) =>
        {
            var balance = new RefundBalance(settled ? PaymentStatus.Settled : PaymentStatus.Captured, captured, 0, 0, null);
            var refunds = new List<(long Amount, RefundStatus Status)>();
            foreach (var (kind, pick, amount) in ops)
            {
                if (kind == 0 || refunds.Count == 0)
                {
                    var plan = PaymentRefunds.Apply(balance, RefundMove.Reserve, amount);
                    Assert.Equal(amount <= balance.RefundableMinor && balance.Status != PaymentStatus.Refunded, plan.IsAccepted);
                    if (plan.IsAccepted) refunds.Add((amount, RefundStatus.Pending));
                    balance = plan.After;
                }
                else
                {
                    var index = pick % refunds.Count;
                    var to = kind switch { 1 => RefundStatus.Succeeded, 2 => RefundStatus.Failed, _ => RefundStatus.Canceled };
                    var step = RefundLifecycle.Apply(refunds[index].Status, to);
                    if (step.Outcome != RefundStepOutcome.Accepted) continue;
                    var plan = PaymentRefunds.Apply(balance, step.Move!.Value, refunds[index].Amount);
                    Assert.True(plan.IsAccepted, plan.Rejection?.Code);
                    refunds[index] = (refunds[index].Amount, to);
                    balance = plan.After;
                }
                Assert.Null(balance.Broken());
                Assert.Equal(refunds.Where(r => r.Status == RefundStatus.Succeeded).Sum(r => r.Amount), balance.RefundedMinor);
                Assert.Equal(refunds.Where(r => r.Status == RefundStatus.Pending).Sum(r => r.Amount), balance.PendingMinor);
                Assert.Equal(balance.RefundedMinor == captured, balance.Status == PaymentStatus.Refunded);
            }
        });
    }
}

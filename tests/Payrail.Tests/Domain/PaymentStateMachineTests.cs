using Xunit;
using Payrail.Domain.Payments;

namespace Payrail.Tests.Domain;

public sealed class PaymentStateMachineTests
{
    /// <summary>
    /// The whole machine, written out by hand from DESIGN.md "State machine". Each cell is a
    /// path of statuses (every step recorded), "already" (replay: no-op), "stale" (the payment
    /// passed it: no-op), "invalid" (invalid_transition) or "terminal" (terminal_state).
    /// Abbreviations: I initiated, P processing, A authorized, C captured, S settled,
    /// F failed, V voided, R refunded.
    /// </summary>
    public static TheoryData<PaymentStatus, PaymentEvent, string> Expected()
    {
        var columns = new[]
        {
            PaymentEvent.PspAccepted, PaymentEvent.Authorized, PaymentEvent.Captured, PaymentEvent.Settled,
            PaymentEvent.Failed, PaymentEvent.Voided, PaymentEvent.Refunded,
        };
        var rows = new (PaymentStatus From, string[] Cells)[]
        {
            //                          PspAccepted Authorized Captured   Settled      Failed      Voided      Refunded
            (PaymentStatus.Initiated,  ["I>P",     "I>P>A",   "I>P>A>C", "I>P>A>C>S", "I>F",      "I>P>A>V",  "I>P>A>C>R"]),
            (PaymentStatus.Processing, ["already", "P>A",     "P>A>C",   "P>A>C>S",   "P>F",      "P>A>V",    "P>A>C>R"]),
            (PaymentStatus.Authorized, ["stale",   "already", "A>C",     "A>C>S",     "invalid",  "A>V",      "A>C>R"]),
            (PaymentStatus.Captured,   ["stale",   "stale",   "already", "C>S",       "invalid",  "invalid",  "C>R"]),
            (PaymentStatus.Settled,    ["stale",   "stale",   "stale",   "already",   "invalid",  "invalid",  "S>R"]),
            (PaymentStatus.Failed,     ["stale",   "terminal", "terminal", "terminal", "already", "terminal", "terminal"]),
            (PaymentStatus.Voided,     ["stale",   "stale",   "terminal", "terminal", "terminal", "already",  "terminal"]),
            (PaymentStatus.Refunded,   ["stale",   "stale",   "stale",   "stale",     "terminal", "terminal", "already"]),
        };

        var data = new TheoryData<PaymentStatus, PaymentEvent, string>();
        foreach (var (from, cells) in rows)
        {
            for (var i = 0; i < columns.Length; i++)
            {
                data.Add(from, columns[i], cells[i]);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Expected))]
    public void Every_status_and_event_pair_has_the_designed_outcome(PaymentStatus from, PaymentEvent e, string expected)
    {
        var transition = PaymentStateMachine.Apply(from, e);

        Assert.Equal(from, transition.From);
        Assert.Equal(e, transition.Event);
        Assert.Equal(expected, Describe(transition));
        if (transition.IsAccepted)
        {
            Assert.Null(transition.Rejection);
            Assert.Equal(from, transition.Steps[0].From);
        }
        else
        {
            Assert.Empty(transition.Steps);
            Assert.Equal(from, transition.To);
        }
    }

    [Fact]
    public void Expected_table_covers_every_status_and_event()
    {
        var covered = Expected().Select(row => ((PaymentStatus)row[0], (PaymentEvent)row[1])).ToHashSet();

        Assert.Equal(Enum.GetValues<PaymentStatus>().Length * Enum.GetValues<PaymentEvent>().Length, covered.Count);
    }

    [Fact]
    public void Captured_at_once_records_every_intermediate_step()
    {
        var transition = PaymentStateMachine.Apply(PaymentStatus.Initiated, PaymentEvent.Captured);

        Assert.Equal(TransitionOutcome.Accepted, transition.Outcome);
        Assert.Equal(
            [
                new TransitionStep(PaymentStatus.Initiated, PaymentStatus.Processing),
                new TransitionStep(PaymentStatus.Processing, PaymentStatus.Authorized),
                new TransitionStep(PaymentStatus.Authorized, PaymentStatus.Captured),
            ],
            transition.Steps);
        Assert.Equal(PaymentStatus.Captured, transition.To);
    }

    [Fact]
    public void Replayed_event_is_already_applied_not_an_error()
    {
        var transition = PaymentStateMachine.Apply(PaymentStatus.Captured, PaymentEvent.Captured);

        Assert.Equal(TransitionOutcome.AlreadyApplied, transition.Outcome);
        Assert.True(transition.IsNoOp);
        Assert.False(transition.IsRejected);
        Assert.Null(transition.Rejection);
    }

    [Fact]
    public void Out_of_order_event_the_payment_has_passed_is_stale()
    {
        var transition = PaymentStateMachine.Apply(PaymentStatus.Captured, PaymentEvent.Authorized);

        Assert.Equal(TransitionOutcome.Stale, transition.Outcome);
        Assert.True(transition.IsNoOp);
        Assert.Equal(PaymentStatus.Captured, transition.To);
    }

    [Fact]
    public void Terminal_state_rejects_with_a_stable_code_and_message()
    {
        var transition = PaymentStateMachine.Apply(PaymentStatus.Voided, PaymentEvent.Captured);

        Assert.True(transition.IsRejected);
        Assert.Equal("terminal_state", transition.Rejection!.Code);
        Assert.Contains("voided", transition.Rejection.Message);
    }

    [Fact]
    public void Settled_only_accepts_a_refund()
    {
        foreach (var e in Enum.GetValues<PaymentEvent>())
        {
            var transition = PaymentStateMachine.Apply(PaymentStatus.Settled, e);
            Assert.Equal(e == PaymentEvent.Refunded, transition.IsAccepted);
        }
    }

    [Fact]
    public void Terminal_states_never_move()
    {
        foreach (var from in Enum.GetValues<PaymentStatus>().Where(s => s.IsTerminal()))
        {
            foreach (var e in Enum.GetValues<PaymentEvent>())
            {
                Assert.False(PaymentStateMachine.Apply(from, e).IsAccepted, $"{from} + {e}");
            }
        }
    }

    [Fact]
    public void Every_accepted_path_is_made_of_designed_edges_only()
    {
        var edges = new HashSet<TransitionStep>
        {
            new(PaymentStatus.Initiated, PaymentStatus.Processing),
            new(PaymentStatus.Processing, PaymentStatus.Authorized),
            new(PaymentStatus.Authorized, PaymentStatus.Captured),
            new(PaymentStatus.Captured, PaymentStatus.Settled),
            new(PaymentStatus.Initiated, PaymentStatus.Failed),
            new(PaymentStatus.Processing, PaymentStatus.Failed),
            new(PaymentStatus.Authorized, PaymentStatus.Voided),
            new(PaymentStatus.Captured, PaymentStatus.Refunded),
            new(PaymentStatus.Settled, PaymentStatus.Refunded),
        };
        foreach (var from in Enum.GetValues<PaymentStatus>())
        {
            foreach (var e in Enum.GetValues<PaymentEvent>())
            {
                var steps = PaymentStateMachine.Apply(from, e).Steps;
                Assert.All(steps, step => Assert.Contains(step, edges));
                for (var i = 1; i < steps.Count; i++)
                {
                    Assert.Equal(steps[i - 1].To, steps[i].From);
                }
            }
        }
    }

    [Fact]
    public void Undefined_enum_values_throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PaymentStateMachine.Apply((PaymentStatus)99, PaymentEvent.Captured));
        Assert.Throws<ArgumentOutOfRangeException>(() => PaymentStateMachine.Apply(PaymentStatus.Initiated, (PaymentEvent)99));
    }

    [Theory]
    [InlineData(PaymentStatus.Initiated, "initiated")]
    [InlineData(PaymentStatus.Processing, "processing")]
    [InlineData(PaymentStatus.Authorized, "authorized")]
    [InlineData(PaymentStatus.Captured, "captured")]
    [InlineData(PaymentStatus.Settled, "settled")]
    [InlineData(PaymentStatus.Failed, "failed")]
    [InlineData(PaymentStatus.Voided, "voided")]
    [InlineData(PaymentStatus.Refunded, "refunded")]
    public void Status_has_a_lowercase_wire_name_that_round_trips(PaymentStatus status, string wire)
    {
        Assert.Equal(wire, status.ToWire());
        Assert.True(PaymentStatusWire.TryParseWire(wire, out var parsed));
        Assert.Equal(status, parsed);
    }

    [Theory]
    [InlineData("Captured")]
    [InlineData("CAPTURED")]
    [InlineData(" captured")]
    [InlineData("3")]
    [InlineData("")]
    [InlineData(null)]
    public void Unknown_wire_names_are_refused(string? wire)
    {
        Assert.False(PaymentStatusWire.TryParseWire(wire, out _));
    }

    private static string Describe(Transition transition) => transition.Outcome switch
    {
        TransitionOutcome.Accepted => string.Join(">", new[] { transition.Steps[0].From }
            .Concat(transition.Steps.Select(s => s.To)).Select(Letter)),
        TransitionOutcome.AlreadyApplied => "already",
        TransitionOutcome.Stale => "stale",
        TransitionOutcome.Rejected when transition.Rejection!.Code == "invalid_transition" => "invalid",
        TransitionOutcome.Rejected when transition.Rejection!.Code == "terminal_state" => "terminal",
        _ => "unexpected " + transition,
    };

    private static string Letter(PaymentStatus status) => status switch
    {
        PaymentStatus.Initiated => "I",
        PaymentStatus.Processing => "P",
        PaymentStatus.Authorized => "A",
        PaymentStatus.Captured => "C",
        PaymentStatus.Settled => "S",
        PaymentStatus.Failed => "F",
        PaymentStatus.Voided => "V",
        PaymentStatus.Refunded => "R",
        _ => "?",
    };
}

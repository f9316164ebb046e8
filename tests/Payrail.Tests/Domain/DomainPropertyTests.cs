using CsCheck;
using Payrail.Domain.Money;
using Payrail.Domain.Payments;
using Payrail.Domain.Validation;
using Xunit;

namespace Payrail.Tests.Domain;

public sealed class DomainPropertyTests
{
    private static readonly Gen<PaymentStatus> GenStatus = Gen.Enum<PaymentStatus>();
    private static readonly Gen<PaymentEvent> GenEvent = Gen.Enum<PaymentEvent>();

    [Fact]
    public void Applying_an_accepted_event_again_is_already_applied()
    {
        Gen.Select(GenStatus, GenEvent).Sample((from, e) =>
        {
            var first = PaymentStateMachine.Apply(from, e);
            if (first.IsAccepted)
            {
                Assert.Equal(TransitionOutcome.AlreadyApplied, PaymentStateMachine.Apply(first.To, e).Outcome);
            }
        }, iter: 500);
    }

    [Fact]
    public void Any_event_sequence_only_moves_along_designed_paths_and_terminal_states_stay()
    {
        GenEvent.Array[0, 20].Sample(events =>
        {
            var status = PaymentStatus.Initiated;
            foreach (var e in events)
            {
                var transition = PaymentStateMachine.Apply(status, e);
                if (status.IsTerminal())
                {
                    Assert.False(transition.IsAccepted);
                }

                if (!transition.IsAccepted)
                {
                    Assert.Equal(status, transition.To);
                }

                status = transition.To;
            }
        }, iter: 500);
    }

    [Fact]
    public void Luhn_valid_numbers_of_card_length_are_found_however_grouped()
    {
        Gen.Select(Gen.Int[12, 18].SelectMany(n => Gen.Int[0, 9].Array[n]), Gen.Int[0, 2], Gen.Int[1, 6])
            .Sample((payload, separatorIndex, groupSize) =>
            {
                var digits = payload.Append(LuhnCheckDigit(payload)).ToArray();
                var separator = new[] { "", " ", "-" }[separatorIndex];
                var text = string.Join(separator, digits.Chunk(groupSize).Select(g => string.Concat(g)));

                Assert.True(CardNumberDetector.ContainsCardNumber($"note: {text}."), text);
            }, iter: 1000);
    }

    [Fact]
    public void Money_parse_never_throws_on_any_text()
    {
        Gen.Select(Gen.String, Gen.Int[0, Currency.All.Count - 1]).Sample((text, index) =>
        {
            if (Money.TryParse(text, Currency.All[index], out var money))
            {
                Assert.True(money.AmountMinor >= 0);
            }
        }, iter: 2000);
    }

    private static int LuhnCheckDigit(int[] payload)
    {
        var sum = 0;
        for (var i = 0; i < payload.Length; i++)
        {
            // With the check digit appended, the payload's last digit is second from the right: doubled.
            var digit = payload[payload.Length - 1 - i];
            if (i % 2 == 0)
            {
                digit *= 2;
                if (digit > 9)
                {
                    digit -= 9;
                }
            }

            sum += digit;
        }

        return (10 - sum % 10) % 10;
    }
}

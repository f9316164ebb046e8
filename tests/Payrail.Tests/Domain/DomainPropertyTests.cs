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

    // Issuers as the networks publish them (prefix, PAN length), written out here apart from the detector's own table.
    private static readonly (string Prefix, int Length)[] Issuers =
    [
        ("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16), ("34", 15), ("37", 15),
        ("6011", 16), ("644", 17), ("65", 19), ("62", 16), ("62", 19), ("3528", 16), ("3589", 19), ("36", 14),
        ("300", 16), ("5018", 13), ("6759", 19), ("2200", 16), ("60", 16), ("9792", 16),
    ];

    private static readonly string[] Separators =
        ["", "", "", " ", "-", ".", "/", "_", "  ", " - ", "\t", "\u00A0", "\u202F", "\u2007", "\u3000", "\u2013", "\u200B", "\uFF0E"];

    // Forms of 0-9: ASCII, full-width, Arabic-Indic, Devanagari and mathematical bold (outside the BMP).
    private static readonly Func<int, string>[] DigitForms =
    [
        d => ((char)('0' + d)).ToString(), d => ((char)(0xFF10 + d)).ToString(), d => ((char)(0x0660 + d)).ToString(),
        d => ((char)(0x0966 + d)).ToString(), d => char.ConvertFromUtf32(0x1D7CE + d),
    ];

    private static readonly string[] Before = ["", "card ", "note: ", "tok_", "my card is\u00A0", "exp 12/30 ", "1230 "];
    private static readonly string[] After = ["", " thanks", " 123", "123", " 12/30", "/1230", ".", "\u00A0cvv 123"];

    [Fact]
    public void Any_pan_is_found_whatever_its_separators_digit_forms_and_surrounding_text()
    {
        var genPan = Gen.Int[0, Issuers.Length - 1].SelectMany(i =>
            Gen.Int[0, 9].Array[Issuers[i].Length - Issuers[i].Prefix.Length - 1]
                .Select(body => WithLuhnCheckDigit(Issuers[i].Prefix.Select(c => c - '0').Concat(body).ToArray())));
        var genLayout = Gen.Select(Gen.Int[0, Separators.Length - 1].Array[20], Gen.Int[0, DigitForms.Length - 1].Array[20]);
        Gen.Select(genPan, genLayout, Gen.Int[0, Before.Length - 1], Gen.Int[0, After.Length - 1])
            .Sample((pan, layout, before, after) =>
            {
                var (separators, forms) = layout;
                var text = new System.Text.StringBuilder(Before[before]);
                for (var i = 0; i < pan.Length; i++)
                {
                    if (i > 0) text.Append(Separators[separators[i]]);
                    text.Append(DigitForms[forms[i]](pan[i]));
                }
                text.Append(After[after]);

                Assert.True(CardNumberDetector.ContainsCardNumber(text.ToString()), string.Concat(pan));
            }, iter: 2000);
    }

    [Fact]
    public void Card_detection_never_throws_on_any_text()
    {
        Gen.String.Sample(text => { CardNumberDetector.ContainsCardNumber(text); }, iter: 5000);
        Gen.Char.Array[0, 200].Sample(chars => { CardNumberDetector.ContainsCardNumber(new string(chars)); }, iter: 5000);
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

    private static int[] WithLuhnCheckDigit(int[] payload) => [.. payload, LuhnCheckDigit(payload)];

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

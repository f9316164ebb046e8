using Payrail.Domain.Payments;
using Payrail.Payments;
using Payrail.Psp;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>A PSP answer is recorded only when it is about this payment: reference, currency and amounts agree.</summary>
public sealed class PspAnswerCheckTests
{
    private static readonly DateTimeOffset At = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static PaymentRecord Payment(string? pspReference = null) => new(Guid.CreateVersion7(At), "m_1", "b_1", 1_000, "EUR",
        PaymentStatus.Processing, CaptureMethod.Automatic, "stripe", pspReference, 0, 0, null, null, null,
        new Dictionary<string, string>(), 2, At, At);

    private static PspPayment Answer() => new("pi_1", PspPaymentStatus.Captured, 1_000, 0, 1_000, 0, "EUR", null, null, null, At);

    [Fact]
    public void An_answer_that_agrees_with_the_payment_has_no_mismatch()
    {
        Assert.Null(PspAnswerCheck.Mismatch(Payment(), Answer()));
        Assert.Null(PspAnswerCheck.Mismatch(Payment("pi_1"), Answer()));
        Assert.Null(PspAnswerCheck.Mismatch(Payment(), Answer() with { CurrencyCode = "eur" }));
        Assert.Null(PspAnswerCheck.Mismatch(Payment(), Answer() with { Status = PspPaymentStatus.Authorized, AmountCapturedMinor = 0, AmountCapturableMinor = 1_000 }));
        Assert.Null(PspAnswerCheck.Mismatch(Payment(), Answer() with { AmountCapturedMinor = 400 })); // a partial capture
    }

    public static TheoryData<string, PaymentRecord, PspPayment> Mismatches => new()
    {
        { PspAnswerCheck.Reference, Payment(), Answer() with { PspReference = "" } },
        { PspAnswerCheck.Reference, Payment("pi_other"), Answer() },
        { PspAnswerCheck.Currency, Payment(), Answer() with { CurrencyCode = "USD" } },
        { PspAnswerCheck.Currency, Payment(), Answer() with { CurrencyCode = "" } },
        { PspAnswerCheck.Amount, Payment(), Answer() with { AmountMinor = 1_001 } },
        { PspAnswerCheck.Amount, Payment(), Answer() with { AmountMinor = 999, AmountCapturedMinor = 999 } },
        { PspAnswerCheck.AmountCaptured, Payment(), Answer() with { AmountCapturedMinor = 1_001 } },
        { PspAnswerCheck.AmountCaptured, Payment(), Answer() with { AmountCapturedMinor = -1 } },
        { PspAnswerCheck.AmountCapturable, Payment(), Answer() with { AmountCapturableMinor = 1_001 } },
    };

    [Theory]
    [MemberData(nameof(Mismatches))]
    public void An_answer_that_disagrees_names_the_field(string field, PaymentRecord payment, PspPayment answer)
    {
        Assert.Equal(field, PspAnswerCheck.Mismatch(payment, answer));
    }
}

using Payrail.Psp;
using Payrail.Psp.Stripe;
using Stripe;
using Xunit;

namespace Payrail.Tests.Psp;

public sealed class StripeMappingTests
{
    [Theory]
    [InlineData("requires_capture", PspPaymentStatus.Authorized)]
    [InlineData("succeeded", PspPaymentStatus.Captured)]
    [InlineData("processing", PspPaymentStatus.Processing)]
    [InlineData("requires_action", PspPaymentStatus.RequiresAction)]
    [InlineData("canceled", PspPaymentStatus.Canceled)]
    [InlineData("requires_payment_method", PspPaymentStatus.Failed)]
    [InlineData("requires_confirmation", PspPaymentStatus.Processing)]
    [InlineData("some_future_status", PspPaymentStatus.Processing)]
    public void Stripe_status_maps_to_the_payrail_status(string stripeStatus, PspPaymentStatus expected)
    {
        Assert.Equal(expected, StripeMapping.ToStatus(stripeStatus));
    }

    [Fact]
    public void Amounts_come_from_the_expanded_latest_charge()
    {
        var intent = new PaymentIntent
        {
            Id = "pi_1", Status = "succeeded", Amount = 1_000, AmountReceived = 600, Currency = "usd",
            Created = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc),
            LatestCharge = new Charge { Id = "ch_1", AmountCaptured = 600, AmountRefunded = 250 },
        };

        var payment = StripeMapping.ToPayment(intent);

        Assert.Equal(PspPaymentStatus.Captured, payment.Status);
        Assert.Equal(1_000, payment.AmountMinor);
        Assert.Equal(600, payment.AmountCapturedMinor);
        Assert.Equal(250, payment.AmountRefundedMinor);
        Assert.Equal("USD", payment.CurrencyCode);
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), payment.CreatedAt);
    }

    [Fact]
    public void Failure_code_prefers_the_decline_code()
    {
        var intent = new PaymentIntent
        {
            Id = "pi_2", Status = "requires_payment_method", Amount = 500, Currency = "eur",
            LastPaymentError = new StripeError { Code = "card_declined", DeclineCode = "lost_card", Message = "Your card was declined." },
        };

        var payment = StripeMapping.ToPayment(intent);

        Assert.Equal(PspPaymentStatus.Failed, payment.Status);
        Assert.Equal("lost_card", payment.FailureCode);
        Assert.Equal("Your card was declined.", payment.FailureMessage);
    }
}

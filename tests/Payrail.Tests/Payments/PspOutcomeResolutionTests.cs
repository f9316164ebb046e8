using Payrail.Payments;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>The pure decision after a PSP key answered 5xx: every branch, at the window's edges.</summary>
public sealed class PspOutcomeResolutionTests
{
    private static readonly DateTimeOffset ServerErrorAt = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Freshness = TimeSpan.FromSeconds(90);
    private static PspAttempt Attempt(int number, DateTimeOffset? at) => new(Guid.NewGuid(), number, at);

    [Fact]
    public void A_PaymentIntent_found_by_search_is_the_answer_whatever_the_window() =>
        Assert.Equal(PspResolutionStep.UseFound, PspOutcomeResolution.Decide(true, Attempt(3, null), ServerErrorAt, Freshness, maxAttempts: 3));

    [Fact]
    public void Nothing_found_inside_the_window_waits_and_creates_nothing() =>
        Assert.Equal(PspResolutionStep.WaitForSearch,
            PspOutcomeResolution.Decide(false, Attempt(1, ServerErrorAt), ServerErrorAt + Freshness - TimeSpan.FromMilliseconds(1), Freshness, 3));

    [Fact]
    public void Nothing_found_without_a_recorded_5xx_waits() =>
        Assert.Equal(PspResolutionStep.WaitForSearch, PspOutcomeResolution.Decide(false, Attempt(1, null), ServerErrorAt.AddDays(1), Freshness, 3));

    [Fact]
    public void Nothing_found_once_the_window_passed_creates_under_the_next_key() =>
        Assert.Equal(PspResolutionStep.CreateUnderNextKey,
            PspOutcomeResolution.Decide(false, Attempt(2, ServerErrorAt), ServerErrorAt + Freshness, Freshness, 3));

    [Fact]
    public void Nothing_found_after_the_last_key_allowed_gives_up() =>
        Assert.Equal(PspResolutionStep.GiveUp, PspOutcomeResolution.Decide(false, Attempt(3, ServerErrorAt), ServerErrorAt.AddDays(1), Freshness, 3));

    [Theory]
    [InlineData(1, "")]
    [InlineData(2, ":2")]
    [InlineData(10, ":10")]
    public void The_first_PSP_key_is_the_payment_id_and_later_ones_are_derived_from_it(int number, string suffix)
    {
        var id = Guid.NewGuid();
        Assert.Equal(id + suffix, new PspAttempt(id, number, null).IdempotencyKey);
    }
}

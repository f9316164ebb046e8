using System.Net.Http.Headers;
using System.Text.Json;
using Payrail.Tests.Payments;
using Xunit;

namespace Payrail.Tests.Sweeper;

/// <summary>Its own pspsim: one test moves pspsim's clock a week ahead.</summary>
public sealed class AuthorizationExpiryFixture : SweeperFixture;

/// <summary>
/// Payments:AuthorizationExpiry (7 days): an uncaptured authorization is voided at the PSP and its pending transfer
/// voided in the ledger; when the PSP canceled the expired hold first, the sweeper applies that cancel as the void.
/// </summary>
public sealed class AuthorizationExpiryTests(AuthorizationExpiryFixture api) : IClassFixture<AuthorizationExpiryFixture>
{
    private static readonly TimeSpan PastExpiry = TimeSpan.FromDays(8);

    [Fact]
    public async Task An_authorization_not_captured_within_its_expiry_is_voided_at_the_PSP_and_its_hold_released()
    {
        var (id, intent) = await AuthorizedPaymentAsync();
        var sweeper = api.NewSweeper(new ShiftedClock { Offset = PastExpiry }, ("Sweeper:CatchUpEnabled", "false"));

        var report = await sweeper.RunOnceAsync(CancellationToken.None);

        Assert.Equal(1, report.Voided);
        Assert.Equal("voided", await api.StatusAsync(id));
        Assert.Equal("canceled", await IntentStatusAsync(intent));
        await AssertHoldReleasedAsync(id, "sweeper.authorization_expired");
    }

    [Fact]
    public async Task When_the_PSP_cancels_the_expired_authorization_first_the_sweeper_applies_its_cancel_as_the_void()
    {
        var (id, intent) = await AuthorizedPaymentAsync();
        await api.PspSim.AdvanceClockAsync(PastExpiry); // pspsim cancels the expired hold itself
        Assert.Equal("canceled", await IntentStatusAsync(intent));
        var sweeper = api.NewSweeper(new ShiftedClock { Offset = PastExpiry }, ("Sweeper:CatchUpEnabled", "false"));

        await sweeper.RunOnceAsync(CancellationToken.None);

        Assert.Equal("voided", await api.StatusAsync(id));
        await AssertHoldReleasedAsync(id, "sweeper.authorization_expired");
    }

    private async Task<(Guid Id, string Intent)> AuthorizedPaymentAsync()
    {
        var answer = await api.PostPaymentAsync(api.BuyerToken("b_expiry"), Guid.NewGuid().ToString(), PaymentsApiFixture.Body(capture: "manual"));
        Assert.Equal(201, answer.Status);
        Assert.Equal("authorized", answer.PaymentStatus);
        return (answer.PaymentId, answer.Json.GetProperty("psp_reference").GetString()!);
    }

    /// <summary>The authorization's pending transfer and its void, one transition authorized → voided, one payment.voided.</summary>
    private async Task AssertHoldReleasedAsync(Guid id, string cause)
    {
        Assert.Equal(2, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", id)));
        Assert.Equal(1, await api.ScalarAsync(
            "SELECT count(*) FROM payment_transitions WHERE payment_id = @id AND from_status = 'authorized' AND to_status = 'voided' AND cause = @cause",
            ("id", id), ("cause", cause)));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM outbox WHERE aggregate_id = @id AND event_type = 'payment.voided'", ("id", id)));
        await api.AssertBooksBalanceAsync();
    }

    private async Task<string?> IntentStatusAsync(string intent)
    {
        using var http = new HttpClient { BaseAddress = new Uri(api.PspSim.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", api.PspSim.ApiKey);
        using var json = JsonDocument.Parse(await http.GetStringAsync($"/v1/payment_intents/{intent}"));
        return json.RootElement.GetProperty("status").GetString();
    }
}

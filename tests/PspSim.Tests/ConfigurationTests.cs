using System.Net;
using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

/// <summary>pspsim started with its own settings (fee schedule, restricted API keys).</summary>
public sealed class ConfigurationTests
{
    [Fact]
    public async Task Fee_schedule_and_allowed_api_keys_come_from_configuration()
    {
        var fixture = new PspSimFixture();
        fixture.ExtraArgs.AddRange(["--PspSim:FeePercentBps=150", "--PspSim:FeeFixedMinor=25", $"--PspSim:ApiKeys:0={fixture.ApiKey}"]);
        await fixture.InitializeAsync();
        try
        {
            var pi = await new PaymentIntentService(Sim.Client(fixture)).CreateAsync(Sim.Card(3_333));
            var txn = Assert.Single((await new BalanceTransactionService(Sim.Client(fixture)).ListAsync()).Data);
            // 1.5% of 3,333 = 49.995 → 50 (half up), + 25.
            Assert.Equal(75, txn.Fee);
            Assert.Equal(pi.LatestChargeId, txn.SourceId);

            var other = await Assert.ThrowsAsync<StripeException>(() =>
                new PaymentIntentService(Sim.Client(fixture, "sk_test_not_on_the_list")).GetAsync(pi.Id));
            Assert.Equal(HttpStatusCode.Unauthorized, other.HttpStatusCode);
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("WebhookRetryScale=2")]
    [InlineData("WebhookMaxAttempts=0")]
    [InlineData("WebhookTimeoutMs=50")]
    [InlineData("WebhookMaxInFlight=0")]
    [InlineData("WebhookMaxPendingDeliveries=0")]
    [InlineData("WebhookSecretOverlapSeconds=-1")]
    [InlineData("AsyncDelayMs=-1")]
    [InlineData("AuthorizationTtl=00:00:00.500")]
    [InlineData("AuthorizationTtl=32.00:00:00")]
    public void A_webhook_or_async_setting_out_of_bounds_stops_pspsim_at_start(string setting)
    {
        var error = Assert.Throws<InvalidOperationException>(() => PspSimApp.Build(["--data-dir", Path.GetTempPath(), "--PspSim:" + setting]));
        Assert.Contains("PspSim:" + setting.Split('=')[0], error.Message);
    }
}

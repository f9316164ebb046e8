using Microsoft.Extensions.Configuration;
using Payrail.Hosting;
using Payrail.Sweeper;
using Payrail.Tests.Payments;
using Xunit;

namespace Payrail.Tests.Sweeper;

/// <summary>`payrail sweep --once` answers as an operator's cron job expects: 1 while payments are stuck, 0 once none is, 78 on a broken setting.</summary>
public sealed class SweepCommandTests(SweeperFixture api) : IClassFixture<SweeperFixture>
{
    [Fact]
    public async Task Sweep_once_exits_1_while_a_payment_is_stuck_and_0_once_the_catch_up_resolved_it()
    {
        var answer = await api.PostPaymentAsync(api.BuyerToken("b_cron"), Guid.NewGuid().ToString(),
            PaymentsApiFixture.Body(paymentMethod: "pm_card_sim_processing"));
        Assert.Equal(202, answer.Status);

        Assert.Equal(SweepCommand.StuckExitCode, await SweepOnceAsync());
        await api.PspSim.SettleAsync(answer.Json.GetProperty("psp_reference").GetString()!);
        Assert.Equal(0, await SweepOnceAsync());
        Assert.Equal("captured", await api.StatusAsync(answer.PaymentId));
    }

    [Fact]
    public async Task Sweep_once_refuses_a_broken_setting_by_name_with_exit_78() =>
        Assert.Equal(RoleCommand.BadConfigurationExitCode, await SweepOnceAsync(("Sweeper:BatchSize", "0")));

    private Task<int> SweepOnceAsync(params (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = api.Postgres.ConnectionString,
            ["Stripe:BaseUrl"] = api.PspSim.BaseUrl,
            ["Stripe:ApiKey"] = api.PspSim.ApiKey,
            // Stuck at once: the threshold must only exceed the synchronous budget, which this sweep never waits for.
            ["Payments:SyncBudgetMs"] = "1",
            ["Sweeper:Threshold"] = "00:00:00.002",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings) values[key] = value;
        return SweepCommand.RunOnceAsync(new ConfigurationBuilder().AddInMemoryCollection(values).Build(), CancellationToken.None);
    }
}

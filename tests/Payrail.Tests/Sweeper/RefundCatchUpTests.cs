using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Payrail.Testing;
using Payrail.Tests.Webhooks;
using Payrail.Tests.Worker;
using Xunit;

namespace Payrail.Tests.Sweeper;

/// <summary>
/// The sweeper's events catch-up routes refund events (refund.*, charge.refund.updated) to the refund they are about, as
/// their webhooks would: pspsim drops every refund webhook, the stuck-refund sweep is off, and the refund still resolves.
/// </summary>
[Collection(RunsAloneCollection.Name)]
public sealed class RefundCatchUpTests(DeliveredWebhookFixture api) : IClassFixture<DeliveredWebhookFixture>, IAsyncLifetime
{
    public async Task InitializeAsync()
    {
        await api.PspSim.AddDeliveryFaultAsync(new { mode = "drop", event_type = "refund.*" });
        await api.PspSim.AddDeliveryFaultAsync(new { mode = "drop", event_type = "charge.refund*" });
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts) await host.DisposeAsync();
        using var clear = new HttpClient { BaseAddress = new Uri(api.PspSim.BaseUrl) };
        (await clear.DeleteAsync("/_sim/webhooks/faults")).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task A_refund_whose_webhooks_were_all_lost_is_resolved_by_the_events_catch_up_once()
    {
        var (payment, intent, _) = await api.PayAsync("pm_card_pendingRefund", amount: 1_000);
        Assert.Equal((201, "captured"), (payment.Status, payment.PaymentStatus));
        var refund = await RefundAsync(payment.PaymentId);
        Assert.Equal("pending", refund.Json.GetProperty("status").GetString());
        await api.PspSim.SettleRefundAsync(refund.Json.GetProperty("psp_reference").GetString()!, "succeeded");
        await api.UntilDeliveredAsync();
        Assert.Equal("pending", await api.TextAsync("SELECT status FROM refunds WHERE payment_id = @id", payment.PaymentId));
        var sweeper = NewSweeper();

        var sweep = await sweeper.RunOnceAsync(CancellationToken.None);

        Assert.Equal(0, sweep.RefundsResolved);
        Assert.Equal("succeeded", await api.TextAsync("SELECT status FROM refunds WHERE payment_id = @id", payment.PaymentId));
        Assert.Equal("refunded", await api.StatusAsync(payment.PaymentId));
        Assert.Equal("sweeper.catch_up", await api.TextAsync(
            "SELECT cause FROM payment_transitions WHERE payment_id = @id AND to_status = 'refunded'", payment.PaymentId));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM outbox WHERE aggregate_id = @id AND event_type = 'payment.refunded'", ("id", payment.PaymentId)));
        Assert.Equal(0, (await sweeper.RunOnceAsync(CancellationToken.None)).CatchUp.Applied);
        Assert.NotEmpty(await api.EventIdsAsync(intent, "refund.updated"));
        await api.AssertBooksBalanceAsync();
    }

    /// <summary>`payrail sweep --once`'s services on the fixture's database and pspsim: stuck-payment scan and stuck-refund sweep far off.</summary>
    private Payrail.Sweeper.Sweeper NewSweeper()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(WorkerLoopsOff.AllBut(WorkerLoopsOff.Sweeper)).AddInMemoryCollection(
            new Dictionary<string, string?>
            {
                ["Postgres:ConnectionString"] = api.Postgres.ConnectionString,
                ["Stripe:BaseUrl"] = api.PspSim.BaseUrl,
                ["Stripe:ApiKey"] = api.PspSim.ApiKey,
                ["Stripe:MaxNetworkRetries"] = "0",
                ["Sweeper:Threshold"] = "1.00:00:00",
                ["Sweeper:AbandonAfter"] = "2.00:00:00",
                ["Refunds:SweepAfterMs"] = "86400000",
                ["Logging:LogLevel:Default"] = "Warning",
            }).Build();
        var host = Payrail.Sweeper.SweepCommand.Build(configuration, _ => { });
        _hosts.Add(host);
        return host.Services.GetRequiredService<Payrail.Sweeper.Sweeper>();
    }

    private readonly List<IAsyncDisposable> _hosts = [];

    private async Task<Payments.ApiAnswer> RefundAsync(Guid paymentId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/payments/{paymentId}/refunds")
        {
            Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
            api.Token(Payrail.Auth.Roles.Merchant, "u_catchup", Payments.PaymentsApiFixture.MerchantId));
        request.Headers.TryAddWithoutValidation("Idempotency-Key", Guid.NewGuid().ToString());
        using var response = await api.Http.SendAsync(request);
        return await Payments.ApiAnswer.ReadAsync(response);
    }
}

/// <summary>
/// Runs after the parallel tests, alone. Observed: run at the same time as DeliveredWebhookTests, that class's count of
/// duplicate webhooks (a delta of its API's /metrics) missed its exact target every time; alone, or one after the other,
/// both pass. The likely cause: OpenTelemetry listens to meters by name across the whole test process, so webhooks
/// delivered to this class's API count in the other API's metrics.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAloneCollection
{
    public const string Name = "runs alone (process-wide webhook metrics)";
}

using System.Net;
using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

public sealed class RestartTests(PspSimFixture fixture) : IClassFixture<PspSimFixture>
{
    [Fact]
    public async Task State_and_stored_idempotent_responses_survive_a_restart()
    {
        var client = Sim.Client(fixture);
        var intents = new PaymentIntentService(client);
        var key = Guid.NewGuid().ToString();
        using var http = Sim.Raw(fixture);
        HttpRequestMessage Create() => new(HttpMethod.Post, "/v1/payment_intents")
        {
            Content = Sim.Form(("amount", "2500"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
                ("capture_method", "manual"), ("automatic_payment_methods[enabled]", "true"), ("automatic_payment_methods[allow_redirects]", "never")),
            Headers = { { "Idempotency-Key", key } },
        };
        using var first = await http.SendAsync(Create());
        var firstBody = await first.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var captured = await intents.CreateAsync(Sim.Card(7_000));
        var refund = await new RefundService(client).CreateAsync(new RefundCreateOptions { PaymentIntent = captured.Id, Amount = 1_000 });
        var eventsBefore = (await new EventService(client).ListAsync(new EventListOptions { Limit = 100 })).Data.Select(e => e.Id).ToList();

        await fixture.RestartAsync();

        using var replay = await http.SendAsync(Create());
        Assert.Equal(firstBody, await replay.Content.ReadAsStringAsync());
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());

        var authorized = await intents.GetAsync(System.Text.Json.JsonDocument.Parse(firstBody).RootElement.GetProperty("id").GetString());
        Assert.Equal("requires_capture", authorized.Status);
        var nowCaptured = await intents.CaptureAsync(authorized.Id);
        Assert.Equal("succeeded", nowCaptured.Status);

        var charge = await new ChargeService(client).GetAsync(captured.LatestChargeId);
        Assert.Equal(1_000, charge.AmountRefunded);
        Assert.Equal(1_000, (await new RefundService(client).GetAsync(refund.Id)).Amount);
        var eventsAfter = (await new EventService(client).ListAsync(new EventListOptions { Limit = 100 })).Data.Select(e => e.Id).ToList();
        Assert.Equal(eventsBefore, eventsAfter.Skip(eventsAfter.Count - eventsBefore.Count));
        var over = await Assert.ThrowsAsync<StripeException>(() =>
            new RefundService(client).CreateAsync(new RefundCreateOptions { PaymentIntent = captured.Id, Amount = 6_001 }));
        Assert.Equal("amount_too_large", over.StripeError.Code);
    }

    [Fact]
    public async Task Refund_lifecycle_state_and_its_schedule_survive_a_restart()
    {
        var client = Sim.Client(fixture);
        var intents = new PaymentIntentService(client);
        var refunds = new RefundService(client);
        var failed = await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = (await intents.CreateAsync(Sim.Card(1_000))).Id });
        await fixture.SettleRefundAsync(failed.Id, "failed");
        var pending = await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = (await intents.CreateAsync(Sim.Card(1_000, "pm_card_pendingRefund"))).Id });
        var failing = await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = (await intents.CreateAsync(Sim.Card(1_000, "pm_card_refundFail"))).Id });

        await fixture.RestartAsync();

        var stillFailed = await refunds.GetAsync(failed.Id);
        Assert.Equal(("failed", "expired_or_canceled_card"), (stillFailed.Status, stillFailed.FailureReason));
        Assert.NotNull((await new BalanceTransactionService(client).GetAsync(stillFailed.FailureBalanceTransactionId)).Id);
        var updated = (await RefundEvents.ForAsync(fixture, failed.Id)).Single(e => e.Type == "refund.updated");
        Assert.Equal("succeeded", updated.Data.GetProperty("previous_attributes").GetProperty("status").GetString());
        Assert.Equal("pending", (await refunds.GetAsync(pending.Id)).Status);
        // The schedule is rebuilt from the journal: once due, both settle as their test cards say.
        await fixture.AdvanceClockAsync(TimeSpan.FromMinutes(5));
        Assert.Equal("succeeded", (await refunds.GetAsync(pending.Id)).Status);
        Assert.Equal("failed", (await refunds.GetAsync(failing.Id)).Status);
    }

    [Fact]
    public async Task A_torn_last_journal_line_is_skipped_on_start()
    {
        var intents = new PaymentIntentService(Sim.Client(fixture));
        var kept = await intents.CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" });
        await fixture.StopAsync();
        await System.IO.File.AppendAllTextAsync(Path.Combine(fixture.DataDir, "journal.jsonl"), "{\"k\":\"pi\",\"v\":{\"id\":\"pi_torn");
        await fixture.StartAsync();

        Assert.Equal(kept.Id, (await intents.GetAsync(kept.Id)).Id);
        var after = await intents.CreateAsync(new PaymentIntentCreateOptions { Amount = 200, Currency = "usd" });
        await fixture.RestartAsync();
        Assert.Equal(200, (await intents.GetAsync(after.Id)).Amount);
    }
}

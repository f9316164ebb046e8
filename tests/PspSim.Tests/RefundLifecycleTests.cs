using System.Net;
using System.Text.Json;
using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

/// <summary>Refunds after creation as Stripe documents them: pending, failed, canceled, and the events that say so.</summary>
public sealed class RefundLifecycleTests(PspSimFixture fixture) : IClassFixture<PspSimFixture>
{
    private readonly StripeClient _client = Sim.Client(fixture);

    [Fact]
    public async Task A_pending_refund_stays_pending_until_the_sim_settles_it_then_says_so_in_refund_updated()
    {
        var pi = await new PaymentIntentService(_client).CreateAsync(Sim.Card(5_000, "pm_card_pendingRefund"));
        var refunds = new RefundService(_client);
        var refund = await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 2_000 });
        Assert.Equal("pending", refund.Status);
        Assert.Equal("processing", refund.PendingReason);
        Assert.Equal("pending", (await refunds.GetAsync(refund.Id)).Status);
        // Stripe counts a pending refund as refunded: the amount is not refundable twice.
        Assert.Equal(2_000, (await new ChargeService(_client).GetAsync(pi.LatestChargeId)).AmountRefunded);

        await fixture.SettleRefundAsync(refund.Id, "succeeded");

        var settled = await refunds.GetAsync(refund.Id);
        Assert.Equal("succeeded", settled.Status);
        Assert.Null(settled.PendingReason);
        var events = await RefundEvents.ForAsync(fixture, refund.Id);
        Assert.Equal(["refund.created", "refund.updated", "charge.refund.updated"], events.Select(e => e.Type));
        var previous = events[1].Data.GetProperty("previous_attributes");
        Assert.Equal("pending", previous.GetProperty("status").GetString());
        Assert.Equal("processing", previous.GetProperty("pending_reason").GetString());
        Assert.False(previous.TryGetProperty("amount", out _));
        Assert.Equal("succeeded", events[2].Data.GetProperty("object").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_failed_refund_gives_the_money_back_and_its_amount_is_refundable_again()
    {
        var pi = await new PaymentIntentService(_client).CreateAsync(Sim.Card(5_000, "pm_card_refundFail"));
        var refunds = new RefundService(_client);
        var refund = await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 2_000 });
        // Stripe: "its status begins as succeeded. Some time later, its status transitions to failed".
        Assert.Equal("succeeded", refund.Status);

        await fixture.SettleRefundAsync(refund.Id, "failed");

        var failed = await refunds.GetAsync(refund.Id, new RefundGetOptions { Expand = ["failure_balance_transaction"] });
        Assert.Equal("failed", failed.Status);
        Assert.Equal("expired_or_canceled_card", failed.FailureReason);
        var back = failed.FailureBalanceTransaction;
        Assert.Equal(2_000, back.Amount);
        Assert.Equal(0, back.Fee);
        Assert.Equal(2_000, back.Net);
        Assert.Equal("refund_failure", back.Type);
        Assert.Equal("refund_failure", back.ReportingCategory);
        Assert.Equal(refund.Id, back.SourceId);
        Assert.Equal(refund.BalanceTransactionId, failed.BalanceTransactionId);
        var charge = await new ChargeService(_client).GetAsync(pi.LatestChargeId);
        Assert.Equal(0, charge.AmountRefunded);
        Assert.False(charge.Refunded);

        var events = await RefundEvents.ForAsync(fixture, refund.Id);
        Assert.Equal(["refund.created", "refund.updated", "charge.refund.updated", "refund.failed"], events.Select(e => e.Type));
        var previous = events[1].Data.GetProperty("previous_attributes");
        Assert.Equal("succeeded", previous.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, previous.GetProperty("failure_reason").ValueKind);
        Assert.Equal(JsonValueKind.Null, previous.GetProperty("failure_balance_transaction").ValueKind);

        var again = await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id });
        Assert.Equal(5_000, again.Amount);
    }

    [Fact]
    public async Task A_failed_refund_of_a_charge_settled_in_another_currency_gives_back_exactly_what_the_refund_took()
    {
        var create = Sim.Card(12_345, "pm_card_refundFail");
        create.Currency = "jpy";
        var pi = await new PaymentIntentService(_client).CreateAsync(create);
        var refunds = new RefundService(_client);
        var refund = await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 10_000 });

        await fixture.SettleRefundAsync(refund.Id, "failed");

        var failed = await refunds.GetAsync(refund.Id, new RefundGetOptions { Expand = ["balance_transaction", "failure_balance_transaction"] });
        var took = failed.BalanceTransaction;
        var back = failed.FailureBalanceTransaction;
        Assert.Equal("usd", took.Currency);
        Assert.Equal(-took.Amount, back.Amount);
        Assert.Equal(-took.Amount, back.Net);
        Assert.Equal(took.Currency, back.Currency);
        Assert.Equal(took.ExchangeRate, back.ExchangeRate);
    }

    [Fact]
    public async Task A_pending_refund_canceled_as_in_the_dashboard_gives_the_money_back_without_refund_failed()
    {
        var pi = await new PaymentIntentService(_client).CreateAsync(Sim.Card(3_000, "pm_card_pendingRefund"));
        var refunds = new RefundService(_client);
        var refund = await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id });

        await fixture.SettleRefundAsync(refund.Id, "canceled");

        var canceled = await refunds.GetAsync(refund.Id);
        Assert.Equal("canceled", canceled.Status);
        Assert.Equal("merchant_request", canceled.FailureReason);
        Assert.NotNull(canceled.FailureBalanceTransactionId);
        Assert.Equal(0, (await new ChargeService(_client).GetAsync(pi.LatestChargeId)).AmountRefunded);
        var events = await RefundEvents.ForAsync(fixture, refund.Id);
        Assert.Equal(["refund.created", "refund.updated", "charge.refund.updated"], events.Select(e => e.Type));
        Assert.Equal(3_000, (await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id })).Amount);
    }

    [Fact]
    public async Task The_api_cancels_no_card_refund_and_a_succeeded_refund_cannot_be_canceled_at_all()
    {
        var intents = new PaymentIntentService(_client);
        var refunds = new RefundService(_client);
        var pending = await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = (await intents.CreateAsync(Sim.Card(1_000, "pm_card_pendingRefund"))).Id });
        var succeeded = await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = (await intents.CreateAsync(Sim.Card(1_000))).Id });

        // Stripe's API cancels only refunds in requires_action, which card refunds never enter.
        foreach (var refund in new[] { pending, succeeded })
        {
            var e = await Assert.ThrowsAsync<StripeException>(() => refunds.CancelAsync(refund.Id));
            Assert.Equal(HttpStatusCode.BadRequest, e.HttpStatusCode);
            Assert.Equal("invalid_request_error", e.StripeError.Type);
            Assert.Equal(refund.Status, (await refunds.GetAsync(refund.Id)).Status);
        }
        var late = await Assert.ThrowsAsync<InvalidOperationException>(() => fixture.SettleRefundAsync(succeeded.Id, "canceled"));
        Assert.Contains("400", late.Message);
        Assert.Equal("succeeded", (await refunds.GetAsync(succeeded.Id)).Status);
    }

    [Fact]
    public async Task Any_succeeded_card_refund_can_be_failed_with_one_of_stripes_failure_reasons()
    {
        var pi = await new PaymentIntentService(_client).CreateAsync(Sim.Card(1_500));
        var refund = await new RefundService(_client).CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id });
        await Assert.ThrowsAsync<InvalidOperationException>(() => fixture.SettleRefundAsync(refund.Id, "failed", "card_melted"));

        await fixture.SettleRefundAsync(refund.Id, "failed", "lost_or_stolen_card");

        var failed = await new RefundService(_client).GetAsync(refund.Id);
        Assert.Equal("failed", failed.Status);
        Assert.Equal("lost_or_stolen_card", failed.FailureReason);
        await Assert.ThrowsAsync<InvalidOperationException>(() => fixture.SettleRefundAsync(refund.Id, "failed"));
    }

    [Fact]
    public async Task Manual_capture_emits_charge_updated_with_the_old_values_of_what_it_changed()
    {
        var intents = new PaymentIntentService(_client);
        var pi = await intents.CreateAsync(Sim.Card(4_000, captureMethod: "manual"));
        await intents.CaptureAsync(pi.Id, new PaymentIntentCaptureOptions { AmountToCapture = 3_000 });

        var events = await RefundEvents.ForAsync(fixture, pi.LatestChargeId);
        Assert.Equal(["charge.succeeded", "charge.captured", "charge.updated"], events.Select(e => e.Type));
        var previous = events[2].Data.GetProperty("previous_attributes");
        Assert.False(previous.GetProperty("captured").GetBoolean());
        Assert.Equal(0, previous.GetProperty("amount_captured").GetInt64());
        Assert.Equal(JsonValueKind.Null, previous.GetProperty("balance_transaction").ValueKind);
        Assert.False(previous.TryGetProperty("amount", out _));
        Assert.Equal(3_000, events[2].Data.GetProperty("object").GetProperty("amount_captured").GetInt64());
        // Only *.updated events carry previous_attributes, as at Stripe.
        Assert.False(events[1].Data.TryGetProperty("previous_attributes", out _));
    }
}

/// <summary>The events whose data.object is one object, oldest first, read as raw JSON (previous_attributes included).</summary>
public static class RefundEvents
{
    public sealed record Raw(string Type, JsonElement Data);

    public static async Task<List<Raw>> ForAsync(PspSimFixture fixture, string objectId)
    {
        using var http = Sim.Raw(fixture);
        var found = new List<Raw>();
        string? after = null;
        for (var page = 0; page < 100; page++)
        {
            var body = await http.GetStringAsync("/v1/events?limit=100" + (after is null ? "" : "&starting_after=" + after));
            using var doc = JsonDocument.Parse(body);
            foreach (var e in doc.RootElement.GetProperty("data").EnumerateArray())
            {
                after = e.GetProperty("id").GetString();
                var data = e.GetProperty("data");
                if (data.GetProperty("object").GetProperty("id").GetString() == objectId)
                    found.Add(new Raw(e.GetProperty("type").GetString()!, data.Clone()));
            }
            if (!doc.RootElement.GetProperty("has_more").GetBoolean()) break;
        }
        found.Reverse();
        return found;
    }
}

using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

public sealed class RefundTests(PspSimFixture fixture) : IClassFixture<PspSimFixture>
{
    private readonly StripeClient _client = Sim.Client(fixture);

    [Fact]
    public async Task Partial_refunds_add_up_to_the_captured_amount_and_no_further()
    {
        var pi = await new PaymentIntentService(_client).CreateAsync(Sim.Card(5_000));
        var refunds = new RefundService(_client);

        var first = await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 2_000, Metadata = new() { ["reason"] = "damaged" } });
        Assert.StartsWith("re_", first.Id);
        Assert.Equal("succeeded", first.Status);
        Assert.Equal(2_000, first.Amount);
        Assert.Equal(pi.LatestChargeId, first.ChargeId);
        Assert.Equal("damaged", first.Metadata["reason"]);

        var over = await Assert.ThrowsAsync<StripeException>(() => refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 3_001 }));
        Assert.Equal("amount_too_large", over.StripeError.Code);

        var rest = await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id });
        Assert.Equal(3_000, rest.Amount);

        var again = await Assert.ThrowsAsync<StripeException>(() => refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 1 }));
        Assert.Equal("charge_already_refunded", again.StripeError.Code);

        var charge = await new ChargeService(_client).GetAsync(pi.LatestChargeId);
        Assert.Equal(5_000, charge.AmountRefunded);
        Assert.True(charge.Refunded);

        var fetched = await refunds.GetAsync(first.Id);
        Assert.Equal(2_000, fetched.Amount);
        var listed = await refunds.ListAsync(new RefundListOptions { PaymentIntent = pi.Id });
        Assert.Equal([rest.Id, first.Id], listed.Data.Select(r => r.Id));
    }

    [Fact]
    public async Task Create_and_update_answer_the_refund_with_expand_written_inline()
    {
        var pi = await new PaymentIntentService(_client).CreateAsync(Sim.Card(4_000));
        var refunds = new RefundService(_client);

        var created = await refunds.CreateAsync(new RefundCreateOptions
        {
            PaymentIntent = pi.Id, Amount = 1_500, Expand = ["balance_transaction", "charge.balance_transaction"],
        });
        Assert.Equal(created.BalanceTransactionId, created.BalanceTransaction.Id);
        Assert.Equal(-1_500, created.BalanceTransaction.Amount);
        // The charge as this very refund left it, with its own balance transaction expanded one level down.
        Assert.Equal(1_500, created.Charge.AmountRefunded);
        Assert.Equal(4_000, created.Charge.BalanceTransaction.Amount);

        var updated = await refunds.UpdateAsync(created.Id, new RefundUpdateOptions
        {
            Metadata = new() { ["ticket"] = "T-1" }, Expand = ["payment_intent"],
        });
        Assert.Equal("T-1", updated.Metadata["ticket"]);
        Assert.Equal(pi.Id, updated.PaymentIntent.Id);
        Assert.Equal(4_000, updated.PaymentIntent.AmountReceived);
        Assert.Null(updated.BalanceTransaction);

        var bad = await Assert.ThrowsAsync<StripeException>(() => refunds.CreateAsync(new RefundCreateOptions
        {
            PaymentIntent = pi.Id, Amount = 1, Expand = ["charge.source"],
        }));
        Assert.Equal("invalid_request_error", bad.StripeError.Type);
        // A path refused before anything is written: no second refund.
        Assert.Equal(1_500, (await new ChargeService(_client).GetAsync(pi.LatestChargeId)).AmountRefunded);
    }

    [Fact]
    public async Task Refund_is_capped_at_a_partial_capture()
    {
        var intents = new PaymentIntentService(_client);
        var pi = await intents.CreateAsync(Sim.Card(8_000, captureMethod: "manual"));
        await intents.CaptureAsync(pi.Id, new PaymentIntentCaptureOptions { AmountToCapture = 3_000 });
        var e = await Assert.ThrowsAsync<StripeException>(() =>
            new RefundService(_client).CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 3_001 }));
        Assert.Equal("amount_too_large", e.StripeError.Code);
        var full = await new RefundService(_client).CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id });
        Assert.Equal(3_000, full.Amount);
    }

    [Fact]
    public async Task Uncaptured_intent_cannot_be_refunded()
    {
        var pi = await new PaymentIntentService(_client).CreateAsync(Sim.Card(1_000, captureMethod: "manual"));
        var e = await Assert.ThrowsAsync<StripeException>(() =>
            new RefundService(_client).CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id }));
        Assert.Equal("payment_intent_unexpected_state", e.StripeError.Code);
    }

    [Fact]
    public async Task Captures_and_refunds_produce_balance_transactions_with_fees()
    {
        var pi = await new PaymentIntentService(_client).CreateAsync(Sim.Card(10_050));
        var refund = await new RefundService(_client).CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 1_000 });
        var balance = new BalanceTransactionService(_client);

        var charges = await balance.ListAsync(new BalanceTransactionListOptions { Source = pi.LatestChargeId });
        var chargeTxn = Assert.Single(charges.Data);
        Assert.Equal("charge", chargeTxn.Type);
        Assert.Equal("charge", chargeTxn.ReportingCategory);
        Assert.Equal(10_050, chargeTxn.Amount);
        // 2.9% of 10,050 = 291.45 → 291 (half up), + 30.
        Assert.Equal(321, chargeTxn.Fee);
        Assert.Equal(10_050 - 321, chargeTxn.Net);
        Assert.Equal("usd", chargeTxn.Currency);
        Assert.Equal("pending", chargeTxn.Status);
        Assert.True(chargeTxn.AvailableOn > chargeTxn.Created);

        var refunds = await balance.ListAsync(new BalanceTransactionListOptions { Type = "refund", Source = refund.Id });
        var refundTxn = Assert.Single(refunds.Data);
        Assert.Equal(-1_000, refundTxn.Amount);
        Assert.Equal(0, refundTxn.Fee);
        Assert.Equal(-1_000, refundTxn.Net);
        Assert.Equal("refund", refundTxn.ReportingCategory);
        Assert.Equal(refund.BalanceTransactionId, refundTxn.Id);

        var one = await balance.GetAsync(chargeTxn.Id);
        Assert.Equal(chargeTxn.Fee, one.Fee);
    }

    [Fact]
    public async Task Refund_metadata_update_emits_refund_updated()
    {
        var pi = await new PaymentIntentService(_client).CreateAsync(Sim.Card(1_000));
        var refunds = new RefundService(_client);
        var refund = await refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Metadata = new() { ["a"] = "1", ["b"] = "2" } });
        var updated = await refunds.UpdateAsync(refund.Id, new RefundUpdateOptions { Metadata = new() { ["a"] = "", ["c"] = "3" } });
        Assert.Equal(new Dictionary<string, string> { ["b"] = "2", ["c"] = "3" }, updated.Metadata);
        var events = await new EventService(_client).ListAsync(new EventListOptions { Type = "refund.updated" });
        Assert.Contains(events.Data, e => ((IHasId)e.Data.Object).Id == refund.Id);
        var previous = (await RefundEvents.ForAsync(fixture, refund.Id)).Single(e => e.Type == "refund.updated").Data.GetProperty("previous_attributes");
        Assert.Equal("1", previous.GetProperty("metadata").GetProperty("a").GetString());
        Assert.False(previous.GetProperty("metadata").TryGetProperty("c", out _));
        Assert.Equal(["metadata"], previous.EnumerateObject().Select(p => p.Name));
    }
}

using System.Text.Json;
using Payrail.Api;
using Payrail.Testing;
using Payrail.Tests.Payments;
using Xunit;

namespace Payrail.Tests.Refunds;

/// <summary>POST /v1/payments/{id}/refunds and its reads end to end: PostgreSQL, Redis and pspsim are real.</summary>
public sealed class RefundApiTests(RefundsFixture api) : IClassFixture<RefundsFixture>
{
    [Fact]
    public async Task A_full_refund_refunds_the_payment_once_at_the_PSP_in_the_ledger_and_in_one_event()
    {
        var (payment, intent) = await api.CapturedPaymentAsync(1_999);

        var answer = await api.RefundAsync(payment, new { reason = "requested_by_customer" });

        Assert.Equal(201, answer.Status);
        var refund = answer.Json;
        Assert.Equal(("refund", "succeeded", 1_999L, "USD"), (refund.GetProperty("object").GetString(), refund.GetProperty("status").GetString(),
            refund.GetProperty("amount").GetInt64(), refund.GetProperty("currency").GetString()));
        Assert.Equal("requested_by_customer", refund.GetProperty("reason").GetString());
        Assert.StartsWith("re_", refund.GetProperty("psp_reference").GetString());
        var after = await api.PaymentAsync(payment);
        Assert.Equal(("refunded", 1_999L), (after.GetProperty("status").GetString(), after.GetProperty("amount_refunded").GetInt64()));
        Assert.EndsWith("captured-refunded", await api.TransitionsAsync(payment));
        Assert.EndsWith("payment.completed,payment.refunded", await api.OutboxAsync(payment));
        var refundId = refund.GetProperty("id").GetString();
        var eventBody = JsonDocument.Parse((await api.TextAsync("SELECT payload::text FROM outbox WHERE aggregate_id = @id AND event_type = 'payment.refunded'", payment))!).RootElement;
        Assert.Equal(refundId, eventBody.GetProperty("refund").GetProperty("id").GetString());
        Assert.Equal(1_999, eventBody.GetProperty("refund").GetProperty("amount").GetInt64());
        Assert.Equal("captured", eventBody.GetProperty("previous_status").GetString());
        var read = await api.GetAsync($"/v1/refunds/{refundId}", api.MerchantToken());
        Assert.Equal((200, answer.Body), (read.Status, read.Body));
        await api.AssertRefundBooksAgreeAsync(payment, intent);
    }

    [Fact]
    public async Task Three_partial_refunds_keep_the_payment_captured_until_the_third_reaches_the_captured_amount()
    {
        var (payment, intent) = await api.CapturedPaymentAsync(1_000);

        foreach (var (amount, status, total) in new[] { (300L, "captured", 300L), (300L, "captured", 600L), (400L, "refunded", 1_000L) })
        {
            var answer = await api.RefundAsync(payment, new { amount });
            Assert.Equal((201, "succeeded"), (answer.Status, answer.Json.GetProperty("status").GetString()));
            var after = await api.PaymentAsync(payment);
            Assert.Equal((status, total), (after.GetProperty("status").GetString(), after.GetProperty("amount_refunded").GetInt64()));
            await api.AssertRefundBooksAgreeAsync(payment, intent);
        }

        var more = await api.RefundAsync(payment, new { amount = 1 });
        Assert.Equal((409, Problems.PaymentNotRefundable, "refunded"), (more.Status, more.ProblemType, more.Json.GetProperty("payment_status").GetString()));
        Assert.Equal("payment.refunded,payment.refunded,payment.refunded",
            string.Join(',', (await api.OutboxAsync(payment))!.Split(',').Where(t => t == "payment.refunded")));
        Assert.Equal("300,300,400", await api.TextAsync("""
            SELECT string_agg(payload->'refund'->>'amount', ',' ORDER BY seq) FROM outbox WHERE aggregate_id = @id AND event_type = 'payment.refunded'
            """, payment));
        var list = (await api.GetAsync($"/v1/payments/{payment}/refunds", api.MerchantToken())).Json;
        Assert.Equal([300L, 300L, 400L], list.GetProperty("data").EnumerateArray().Select(r => r.GetProperty("amount").GetInt64()));
        Assert.Equal(1_000, list.GetProperty("amount_refunded").GetInt64());
    }

    [Fact]
    public async Task A_retry_replays_the_refund_with_one_PSP_refund_and_another_body_under_the_key_is_422()
    {
        var (payment, intent) = await api.CapturedPaymentAsync(1_000);
        var key = Guid.NewGuid().ToString();

        var first = await api.RefundAsync(payment, new { amount = 250 }, key);
        var retry = await api.RefundAsync(payment, new { amount = 250 }, key);
        var other = await api.RefundAsync(payment, new { amount = 260 }, key);

        Assert.Equal(201, first.Status);
        Assert.Equal((201, first.Body, "true"), (retry.Status, retry.Body, retry.Headers.GetValueOrDefault("Idempotent-Replayed")));
        Assert.Equal((422, Problems.IdempotencyKeyReused), (other.Status, other.ProblemType));
        Assert.Single(await api.PspRefundsAsync(intent));
        Assert.Equal(250, (await api.PaymentAsync(payment)).GetProperty("amount_refunded").GetInt64());
        await api.AssertRefundBooksAgreeAsync(payment, intent);
    }

    [Fact]
    public async Task A_concurrent_duplicate_is_409_while_the_first_is_at_the_PSP_and_one_refund_is_made()
    {
        var (payment, intent) = await api.CapturedPaymentAsync(1_000);
        var key = Guid.NewGuid().ToString();
        await api.PspSim.SetLatencyAsync(800);
        try
        {
            var first = api.RefundAsync(payment, new { amount = 100 }, key);
            await Eventually.TrueAsync(async () => await api.ScalarAsync("SELECT count(*) FROM refunds WHERE payment_id = @id", ("id", payment)) == 1,
                TimeSpan.FromSeconds(10), "the first request recorded its refund");
            var duplicate = await api.RefundAsync(payment, new { amount = 100 }, key);
            Assert.Equal((409, Problems.IdempotencyKeyInUse), (duplicate.Status, duplicate.ProblemType));
            Assert.Equal(201, (await first).Status);
        }
        finally
        {
            await api.PspSim.SetLatencyAsync(0);
        }
        Assert.Single(await api.PspRefundsAsync(intent));
        await api.AssertRefundBooksAgreeAsync(payment, intent);
    }

    [Fact]
    public async Task Concurrent_refunds_racing_for_the_last_remaining_amount_never_exceed_the_captured_amount()
    {
        const int Rounds = 6, Racers = 6;
        await Task.WhenAll(Enumerable.Range(0, Rounds).Select(async round =>
        {
            var (payment, intent) = await api.CapturedPaymentAsync(1_000);
            Assert.Equal(201, (await api.RefundAsync(payment, new { amount = 700 })).Status);
            // 300 remain; each racer wants 200 (or all that remains): at most one 200 and one 100 fit, never more.
            var answers = await Task.WhenAll(Enumerable.Range(0, Racers).Select(i =>
                api.RefundAsync(payment, i % 2 == 0 ? new { amount = 200L } : new object())));

            Assert.All(answers, a => Assert.True(a.Status is 201 or 409, $"{a.Status} {a.Body}"));
            Assert.Contains(answers, a => a.Status == 201);
            Assert.All(answers.Where(a => a.Status == 409), a => Assert.True(
                a.ProblemType is Problems.RefundExceedsRefundable or Problems.PaymentNotRefundable, a.Body));
            var refunded = answers.Where(a => a.Status == 201).Sum(a => a.Json.GetProperty("amount").GetInt64());
            Assert.InRange(refunded, 1, 300);
            Assert.InRange((await api.PspRefundsAsync(intent)).Sum(r => r.Amount), 701, 1_000);
            await api.AssertRefundBooksAgreeAsync(payment, intent);
        }));
    }

    [Fact]
    public async Task A_pending_refund_reserves_its_amount_and_its_webhook_decides_it()
    {
        var (payment, intent) = await api.CapturedPaymentAsync(1_000, "pm_card_pendingRefund");
        using var webhooks = api.Webhooks();

        var answer = await api.RefundAsync(payment, new { amount = 600 });
        Assert.Equal((201, "pending"), (answer.Status, answer.Json.GetProperty("status").GetString()));
        var after = await api.PaymentAsync(payment);
        Assert.Equal(("captured", 0L), (after.GetProperty("status").GetString(), after.GetProperty("amount_refunded").GetInt64()));
        var tooMuch = await api.RefundAsync(payment, new { amount = 401 });
        Assert.Equal((409, Problems.RefundExceedsRefundable, 400L), (tooMuch.Status, tooMuch.ProblemType, tooMuch.Json.GetProperty("amount_refundable").GetInt64()));
        await api.AssertRefundBooksAgreeAsync(payment, intent);

        var pspRefund = answer.Json.GetProperty("psp_reference").GetString()!;
        await api.PspSim.SettleRefundAsync(pspRefund, "succeeded");
        var updated = (await webhooks.EventsForAsync(intent)).Single(e => SignedWebhooks.TypeOf(e) == "refund.updated");
        var created = (await webhooks.EventsForAsync(intent)).Single(e => SignedWebhooks.TypeOf(e) == "refund.created");

        var delivered = await webhooks.DeliverAsync(updated);
        Assert.Equal((200, "applied"), (delivered.Status, delivered.Outcome));
        Assert.Equal("duplicate", (await webhooks.DeliverAsync(updated)).Outcome);
        Assert.Equal("stale", (await webhooks.DeliverAsync(created)).Outcome);
        var refund = (await api.GetAsync($"/v1/refunds/{answer.Json.GetProperty("id").GetString()}", api.MerchantToken())).Json;
        Assert.Equal("succeeded", refund.GetProperty("status").GetString());
        Assert.Equal(600, (await api.PaymentAsync(payment)).GetProperty("amount_refunded").GetInt64());
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM outbox WHERE aggregate_id = @id AND event_type = 'payment.refunded'", ("id", payment)));
        await api.AssertRefundBooksAgreeAsync(payment, intent);
    }

    [Fact]
    public async Task A_pending_refund_whose_webhook_never_came_is_resolved_by_the_sweeper()
    {
        var (payment, intent) = await api.CapturedPaymentAsync(1_000, "pm_card_pendingRefund");
        var answer = await api.RefundAsync(payment, new { });
        Assert.Equal("pending", answer.Json.GetProperty("status").GetString());
        await api.PspSim.SettleRefundAsync(answer.Json.GetProperty("psp_reference").GetString()!, "succeeded");

        await api.SweepRefundsAsync();

        var after = await api.PaymentAsync(payment);
        Assert.Equal(("refunded", 1_000L), (after.GetProperty("status").GetString(), after.GetProperty("amount_refunded").GetInt64()));
        Assert.Equal("sweeper.refund", await api.TextAsync(
            "SELECT cause FROM payment_transitions WHERE payment_id = @id AND to_status = 'refunded'", payment));
        await api.AssertRefundBooksAgreeAsync(payment, intent);
    }

    [Fact]
    public async Task Webhooks_and_the_sweeper_racing_on_one_refund_apply_it_once_beside_another_pending_refund()
    {
        var (payment, intent) = await api.CapturedPaymentAsync(1_000, "pm_card_pendingRefund");
        using var webhooks = api.Webhooks();
        var first = await api.RefundAsync(payment, new { amount = 400 });
        var second = await api.RefundAsync(payment, new { amount = 400 });
        var pspRefund = first.Json.GetProperty("psp_reference").GetString()!;
        await api.PspSim.SettleRefundAsync(pspRefund, "succeeded");
        var changes = (await webhooks.EventsForAsync(intent))
            .Where(e => SignedWebhooks.TypeOf(e) is "refund.updated" or "charge.refund.updated").ToList();
        Assert.Equal(2, changes.Count);

        // Each copy of each event, and the sweeper, race to apply the same succeeded refund; the other refund's
        // reservation (as large) must not let a second application through.
        await Task.WhenAll([.. changes.Concat(changes).Select(e => (Task)webhooks.DeliverAsync(e)), api.SweepRefundsAsync()]);

        Assert.Equal(400, (await api.PaymentAsync(payment)).GetProperty("amount_refunded").GetInt64());
        Assert.Equal(400, await api.ScalarAsync("SELECT amount_refund_pending_minor FROM payments WHERE id = @id", ("id", payment)));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM outbox WHERE aggregate_id = @id AND event_type = 'payment.refunded'", ("id", payment)));
        Assert.Equal("pending", (await api.GetAsync($"/v1/refunds/{second.Json.GetProperty("id").GetString()}", api.MerchantToken())).Json
            .GetProperty("status").GetString());
        await api.AssertRefundBooksAgreeAsync(payment, intent);
    }

    [Fact]
    public async Task A_refund_that_fails_gives_its_amount_back_and_the_payment_can_be_refunded_again()
    {
        var (payment, intent) = await api.CapturedPaymentAsync(1_000, "pm_card_refundFail");
        using var webhooks = api.Webhooks();

        // Stripe's refundFail card: the refund succeeds, then the bank sends it back.
        var full = await api.RefundAsync(payment, new { });
        Assert.Equal("succeeded", full.Json.GetProperty("status").GetString());
        Assert.Equal("refunded", (await api.PaymentAsync(payment)).GetProperty("status").GetString());
        await api.PspSim.SettleRefundAsync(full.Json.GetProperty("psp_reference").GetString()!, "failed");
        var failed = (await webhooks.EventsForAsync(intent)).Single(e => SignedWebhooks.TypeOf(e) == "refund.failed");

        Assert.Equal("applied", (await webhooks.DeliverAsync(failed)).Outcome);

        var after = await api.PaymentAsync(payment);
        Assert.Equal(("captured", 0L), (after.GetProperty("status").GetString(), after.GetProperty("amount_refunded").GetInt64()));
        Assert.EndsWith("captured-refunded,refunded-captured", await api.TransitionsAsync(payment));
        var refund = (await api.GetAsync($"/v1/refunds/{full.Json.GetProperty("id").GetString()}", api.MerchantToken())).Json;
        Assert.Equal(("failed", "expired_or_canceled_card"), (refund.GetProperty("status").GetString(), refund.GetProperty("failure_reason").GetString()));
        await api.AssertRefundBooksAgreeAsync(payment, intent);

        var again = await api.RefundAsync(payment, new { amount = 400 });
        Assert.Equal((201, "succeeded"), (again.Status, again.Json.GetProperty("status").GetString()));
        Assert.Equal(400, (await api.PaymentAsync(payment)).GetProperty("amount_refunded").GetInt64());
        await api.AssertRefundBooksAgreeAsync(payment, intent);
    }

    [Fact]
    public async Task Bad_input_and_wrong_state_are_refused_with_problems_and_nothing_written()
    {
        var (payment, _) = await api.CapturedPaymentAsync(1_000);
        var authorized = await api.PostPaymentAsync(api.BuyerToken("b_auth"), Guid.NewGuid().ToString(), PaymentsApiFixture.Body(capture: "manual"));
        var before = await api.RowCountsAsync() + "," + await api.ScalarAsync("SELECT count(*) FROM refunds");

        var zero = await api.RefundAsync(payment, new { amount = 0 });
        var negative = await api.RefundAsync(payment, new { amount = -5 });
        var currency = await api.RefundAsync(payment, new { amount = 5, currency = "EUR" });
        var reason = await api.RefundAsync(payment, new { reason = "changed_mind" });
        var tooMuch = await api.RefundAsync(payment, new { amount = 1_001 });
        var notCaptured = await api.RefundAsync(authorized.PaymentId, new { });
        var buyer = await api.RefundAsync(payment, new { }, token: api.BuyerToken("b_auth"));
        var otherMerchant = await api.RefundAsync(payment, new { }, token: api.Token(Payrail.Auth.Roles.Merchant, "u_2", PaymentsApiFixture.OtherMerchantId));
        var noKey = await api.RefundAsync(payment, new { }, key: "");

        Assert.Equal((400, Problems.InvalidAmount), (zero.Status, zero.ProblemType));
        Assert.Equal((400, Problems.InvalidAmount), (negative.Status, negative.ProblemType));
        Assert.Equal((400, Problems.InvalidRequest), (currency.Status, currency.ProblemType));
        Assert.Equal((400, Problems.InvalidRequest), (reason.Status, reason.ProblemType));
        Assert.Equal((409, Problems.RefundExceedsRefundable, "captured"), (tooMuch.Status, tooMuch.ProblemType, tooMuch.Json.GetProperty("payment_status").GetString()));
        Assert.Equal((409, Problems.PaymentNotRefundable, "authorized"), (notCaptured.Status, notCaptured.ProblemType, notCaptured.Json.GetProperty("payment_status").GetString()));
        Assert.Equal((403, Problems.Forbidden), (buyer.Status, buyer.ProblemType));
        Assert.Equal((404, Problems.NotFound), (otherMerchant.Status, otherMerchant.ProblemType));
        Assert.Equal((400, Problems.InvalidIdempotencyKey), (noKey.Status, noKey.ProblemType));
        Assert.Equal(before, await api.RowCountsAsync() + "," + await api.ScalarAsync("SELECT count(*) FROM refunds"));
    }
}

using System.Text.Json.Nodes;
using Payrail.Testing;
using Payrail.Tests.Payments;
using Xunit;

namespace Payrail.Tests.Webhooks;

/// <summary>
/// POST /webhooks/psp/stripe against real PostgreSQL, Redis and pspsim: pspsim's own events, signed as Stripe signs them.
/// Whatever the count and order of deliveries, a payment moves once per transition, with one set of ledger entries and
/// one outbox event per transition.
/// </summary>
public sealed class WebhookReceiverTests(WebhookFixture api) : IClassFixture<WebhookFixture>, IDisposable
{
    private const string Captured = "-initiated,initiated-processing,processing-authorized,authorized-captured";
    private const string CapturedEvents = "payment.initiated,payment.authorized,payment.captured,payment.completed";
    private readonly SignedWebhooks webhooks = api.Webhooks();

    public void Dispose() => webhooks.Dispose();

    [Fact]
    public async Task Payment_waiting_on_3DS_answers_202_with_next_action_and_GET_shows_it_until_a_webhook_resolves_it()
    {
        var (answer, intent, token) = await api.ThreeDSecurePaymentAsync();

        Assert.Equal(202, answer.Status);
        Assert.Equal("processing", answer.PaymentStatus);
        var next = answer.Json.GetProperty("next_action");
        Assert.Equal("redirect_to_url", next.GetProperty("type").GetString());
        Assert.Contains(intent, next.GetProperty("url").GetString());
        var waiting = await api.GetAsync($"/v1/payments/{answer.PaymentId}", token);
        Assert.Equal(answer.Json.GetProperty("next_action").ToString(), waiting.Json.GetProperty("next_action").ToString());

        await api.PspSim.AuthenticateAsync(intent);
        var delivered = await webhooks.DeliverAsync(await webhooks.EventAsync(intent, "payment_intent.succeeded"));

        Assert.Equal((200, "applied"), (delivered.Status, delivered.Outcome));
        var resolved = await api.GetAsync($"/v1/payments/{answer.PaymentId}", token);
        Assert.Equal("captured", resolved.PaymentStatus);
        Assert.False(resolved.Json.TryGetProperty("next_action", out _));
    }

    [Fact]
    public async Task The_same_event_delivered_five_times_at_once_moves_the_payment_once()
    {
        var (answer, intent, _) = await api.ThreeDSecurePaymentAsync();
        await api.PspSim.AuthenticateAsync(intent);
        var succeeded = await webhooks.EventAsync(intent, "payment_intent.succeeded");

        var deliveries = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => webhooks.DeliverAsync(succeeded)));

        Assert.All(deliveries, d => Assert.Equal(200, d.Status));
        Assert.Equal(["applied", "duplicate", "duplicate", "duplicate", "duplicate"], deliveries.Select(d => d.Outcome!).Order());
        Assert.Equal(Captured, await api.TransitionsAsync(answer.PaymentId));
        Assert.Equal(CapturedEvents, await api.OutboxAsync(answer.PaymentId));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", answer.PaymentId)));
        Assert.Equal("applied", await api.TextAsync("SELECT string_agg(outcome, ',') FROM psp_webhook_events WHERE event_id = @e",
            ("e", SignedWebhooks.IdOf(succeeded))));
        await api.AssertBooksBalanceAsync();
    }

    [Fact]
    public async Task Events_delivered_in_reverse_order_reach_the_same_state_as_in_order()
    {
        var (inOrder, inOrderIntent, _) = await api.ThreeDSecurePaymentAsync();
        var (reversed, reversedIntent, _) = await api.ThreeDSecurePaymentAsync();
        await api.PspSim.AuthenticateAsync(inOrderIntent);
        await api.PspSim.AuthenticateAsync(reversedIntent);

        foreach (var body in await webhooks.EventsForAsync(inOrderIntent)) Assert.Equal(200, (await webhooks.DeliverAsync(body)).Status);
        foreach (var body in (await webhooks.EventsForAsync(reversedIntent)).Reverse()) Assert.Equal(200, (await webhooks.DeliverAsync(body)).Status);

        foreach (var payment in new[] { inOrder.PaymentId, reversed.PaymentId })
        {
            Assert.Equal("captured", await api.TextAsync("SELECT status FROM payments WHERE id = @id", payment));
            Assert.Equal(Captured, await api.TransitionsAsync(payment));
            Assert.Equal(CapturedEvents, await api.OutboxAsync(payment));
            Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", payment)));
        }
        // Reversed, the success comes first and moves the payment; the earlier "requires_action" is then stale.
        Assert.Equal("stale", await api.TextAsync(
            "SELECT outcome FROM psp_webhook_events WHERE payment_id = @id AND event_type = 'payment_intent.requires_action'", reversed.PaymentId));
        await api.AssertBooksBalanceAsync();
    }

    [Theory]
    [InlineData("wrong secret")]
    [InlineData("signed 301 s ago")]
    [InlineData("signed 301 s ahead")]
    [InlineData("body altered after signing")]
    [InlineData("no signature header")]
    [InlineData("garbled signature header")]
    public async Task Webhook_that_fails_verification_is_400_and_writes_nothing(string forgery)
    {
        var (answer, intent, _) = await api.ThreeDSecurePaymentAsync();
        await api.PspSim.AuthenticateAsync(intent);
        var body = await webhooks.EventAsync(intent, "payment_intent.succeeded");
        var before = await api.WebhookRowCountsAsync();

        var delivered = forgery switch
        {
            "wrong secret" => await webhooks.DeliverAsync(body, null, "whsec_someone_else"),
            "signed 301 s ago" => await webhooks.DeliverAsync(body, DateTimeOffset.UtcNow.AddSeconds(-301)),
            "signed 301 s ahead" => await webhooks.DeliverAsync(body, DateTimeOffset.UtcNow.AddSeconds(301)),
            "body altered after signing" => await webhooks.PostAsync(body.TrimEnd()[..^1] + ",\"livemode\":true}",
                SignedWebhooks.Signature(body, DateTimeOffset.UtcNow, webhooks.Secret)),
            "no signature header" => await webhooks.PostAsync(body, null),
            _ => await webhooks.PostAsync(body, "t=now,v1=zz"),
        };

        Assert.Equal(400, delivered.Status);
        Assert.Equal("https://payrail.dev/problems/webhook-signature-invalid", delivered.ProblemType);
        Assert.Equal(before, await api.WebhookRowCountsAsync());
        Assert.Equal("processing", await api.TextAsync("SELECT status FROM payments WHERE id = @id", answer.PaymentId));
    }

    [Fact]
    public async Task Refused_and_orphan_deliveries_are_counted_on_the_management_listener()
    {
        var body = await webhooks.EventAsync(await api.ForeignPaymentIntentAsync(), "payment_intent.succeeded");

        Assert.Equal(400, (await webhooks.DeliverAsync(body, DateTimeOffset.UtcNow.AddHours(-1))).Status);
        Assert.Equal("orphan", (await webhooks.DeliverAsync(body)).Outcome);

        await Eventually.TrueAsync(async () =>
        {
            var lines = (await api.ManagementHttp.GetStringAsync("/metrics")).Split('\n');
            return lines.Any(l => l.StartsWith("payrail_webhooks_refused") && l.Contains("reason=\"timestamp\""))
                   && lines.Any(l => l.StartsWith("payrail_webhooks_received") && l.Contains("outcome=\"orphan\""));
        }, TimeSpan.FromSeconds(10), "the refusal (by reason) and the orphan (by outcome) are counted");
    }

    [Fact]
    public async Task During_a_secret_roll_a_header_with_two_signatures_is_accepted()
    {
        var (answer, intent, _) = await api.ThreeDSecurePaymentAsync();
        await api.PspSim.AuthenticateAsync(intent);

        var delivered = await webhooks.DeliverAsync(await webhooks.EventAsync(intent, "payment_intent.succeeded"), null,
            "whsec_rolled_away", WebhookFixture.Secret);

        Assert.Equal((200, "applied"), (delivered.Status, delivered.Outcome));
        Assert.Equal("captured", await api.TextAsync("SELECT status FROM payments WHERE id = @id", answer.PaymentId));
    }

    [Fact]
    public async Task Event_for_a_PaymentIntent_Payrail_never_created_is_stored_as_orphan()
    {
        var foreign = await api.ForeignPaymentIntentAsync();
        var body = await webhooks.EventAsync(foreign, "payment_intent.succeeded");
        var payments = await api.ScalarAsync("SELECT count(*) FROM payments");

        var delivered = await webhooks.DeliverAsync(body);

        Assert.Equal((200, "orphan"), (delivered.Status, delivered.Outcome));
        Assert.Equal("orphan", await api.TextAsync(
            "SELECT outcome FROM psp_webhook_events WHERE event_id = @e AND payment_id IS NULL", ("e", SignedWebhooks.IdOf(body))));
        Assert.Equal(payments, await api.ScalarAsync("SELECT count(*) FROM payments"));
    }

    [Fact]
    public async Task Authentic_event_of_a_type_Payrail_does_not_act_on_is_stored_and_ignored()
    {
        var (answer, intent, _) = await api.ThreeDSecurePaymentAsync();
        var body = WebhookFixture.Rewritten(await webhooks.EventAsync(intent, "payment_intent.requires_action"),
            e => e["type"] = "payment_intent.partially_funded");

        var delivered = await webhooks.DeliverAsync(body);

        Assert.Equal((200, "ignored"), (delivered.Status, delivered.Outcome));
        Assert.Equal("ignored", await api.TextAsync("SELECT outcome FROM psp_webhook_events WHERE event_id = @e", ("e", SignedWebhooks.IdOf(body))));
        Assert.Equal("-initiated,initiated-processing", await api.TransitionsAsync(answer.PaymentId));
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"object\":\"event\",\"data\":{}}")]
    public async Task Authentic_body_that_is_not_an_event_is_400_and_stored_as_rejected(string body)
    {
        var rejected = await api.ScalarAsync("SELECT count(*) FROM psp_webhook_events WHERE outcome = 'rejected' AND payload = @p", ("p", body));

        var delivered = await webhooks.DeliverAsync(body);

        Assert.Equal(400, delivered.Status);
        Assert.Equal("https://payrail.dev/problems/webhook-malformed", delivered.ProblemType);
        Assert.Equal(rejected + 1, await api.ScalarAsync("SELECT count(*) FROM psp_webhook_events WHERE outcome = 'rejected' AND payload = @p", ("p", body)));
    }

    [Fact]
    public async Task Body_over_256_KiB_is_413_and_writes_nothing()
    {
        var body = "{\"id\":\"evt_big\",\"type\":\"payment_intent.succeeded\",\"pad\":\"" + new string('x', 256 * 1024) + "\"}";
        var before = await api.WebhookRowCountsAsync();

        var delivered = await webhooks.DeliverAsync(body);

        Assert.Equal(413, delivered.Status);
        Assert.Equal("https://payrail.dev/problems/body-too-large", delivered.ProblemType);
        Assert.Equal(before, await api.WebhookRowCountsAsync());
    }

    [Fact]
    public async Task A_success_webhook_racing_transaction_2_makes_one_transition_and_the_API_answers_as_it_stands()
    {
        var held = new TaskCompletionSource<Guid>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        api.CrashPoints.BeforeOutcomeRecorded = async paymentId =>
        {
            held.TrySetResult(paymentId);
            await release.Task;
        };
        Task<ApiAnswer> create;
        Guid payment;
        try
        {
            var token = api.BuyerToken("b_" + Guid.NewGuid().ToString("N")[..10]);
            create = api.PostPaymentAsync(token, Guid.NewGuid().ToString(), WebhookFixture.Body(amount: 4_200));
            payment = await held.Task.WaitAsync(TimeSpan.FromSeconds(15));
        }
        finally
        {
            api.CrashPoints.BeforeOutcomeRecorded = null;
        }
        var intent = (await api.TextAsync("SELECT psp_reference FROM payments WHERE id = @id", payment)) ?? await IntentOfAsync(payment);

        var delivered = await webhooks.DeliverAsync(await webhooks.EventAsync(intent, "payment_intent.succeeded"));
        release.SetResult();
        var answered = await create.WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal((200, "applied"), (delivered.Status, delivered.Outcome));
        Assert.Equal((201, "captured"), (answered.Status, answered.PaymentStatus));
        Assert.Equal(Captured, await api.TransitionsAsync(payment));
        Assert.Equal(CapturedEvents, await api.OutboxAsync(payment));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", payment)));
        Assert.Equal("completed", await api.TextAsync("SELECT status FROM idempotency_keys WHERE payment_id = @id", payment));
        await api.AssertBooksBalanceAsync();
    }

    /// <summary>The PaymentIntent pspsim holds for a payment whose reference Payrail has not recorded yet (found by its metadata).</summary>
    private async Task<string> IntentOfAsync(Guid payment)
    {
        using var http = new HttpClient { BaseAddress = new Uri(api.PspSim.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", api.PspSim.ApiKey);
        var query = Uri.EscapeDataString($"metadata['payrail_payment_id']:'{payment}'");
        string? found = null;
        await Eventually.TrueAsync(async () =>
        {
            var result = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/v1/payment_intents/search?query=" + query));
            var data = result.RootElement.GetProperty("data");
            if (data.GetArrayLength() == 0) return false;
            found = data[0].GetProperty("id").GetString();
            return true;
        }, TimeSpan.FromSeconds(10), "pspsim's search shows the PaymentIntent");
        return found!;
    }

    [Fact]
    public async Task A_refund_event_is_applied_by_reading_the_PaymentIntent_as_the_PSP_holds_it_now()
    {
        var (answer, intent, _) = await api.ThreeDSecurePaymentAsync();
        await api.PspSim.AuthenticateAsync(intent);
        await api.RefundAtPspAsync(intent, 500);
        // The success was never delivered: only the charge's refund event says anything, and it carries no PaymentIntent.
        var refunded = await webhooks.EventAsync(intent, "charge.refunded");

        var delivered = await webhooks.DeliverAsync(refunded);

        Assert.Equal((200, "applied"), (delivered.Status, delivered.Outcome));
        Assert.Equal(Captured, await api.TransitionsAsync(answer.PaymentId));
        Assert.Equal("webhook:charge.refunded", await api.TextAsync(
            "SELECT cause FROM payment_transitions WHERE payment_id = @id AND to_status = 'captured'", answer.PaymentId));
    }

    [Fact]
    public async Task A_final_payment_never_moves_whatever_an_authentic_event_says()
    {
        var token = api.BuyerToken("b_" + Guid.NewGuid().ToString("N")[..10]);
        var declined = await api.PostPaymentAsync(token, Guid.NewGuid().ToString(), WebhookFixture.Body(amount: 3_100, paymentMethod: "pm_card_chargeDeclined"));
        Assert.Equal("failed", declined.PaymentStatus);
        var intent = declined.Json.GetProperty("psp_reference").GetString()!;
        var transitions = await api.TransitionsAsync(declined.PaymentId);
        var success = WebhookFixture.Rewritten(await webhooks.EventAsync(intent, "payment_intent.payment_failed"), e =>
        {
            e["type"] = "payment_intent.succeeded";
            var pi = e["data"]!["object"]!.AsObject();
            pi["status"] = "succeeded";
            pi["amount_received"] = 3_100;
            pi["last_payment_error"] = null;
        });

        var delivered = await webhooks.DeliverAsync(success);

        Assert.Equal((200, "stale"), (delivered.Status, delivered.Outcome));
        Assert.Equal("failed", await api.TextAsync("SELECT status FROM payments WHERE id = @id", declined.PaymentId));
        Assert.Equal(transitions, await api.TransitionsAsync(declined.PaymentId));
        Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", declined.PaymentId)));
    }

    [Fact]
    public async Task A_failure_event_after_the_success_is_settled_by_asking_the_PSP_and_changes_nothing()
    {
        var (answer, intent, _) = await api.ThreeDSecurePaymentAsync();
        await api.PspSim.AuthenticateAsync(intent);
        var succeeded = await webhooks.EventAsync(intent, "payment_intent.succeeded");
        Assert.Equal("applied", (await webhooks.DeliverAsync(succeeded)).Outcome);
        var failed = WebhookFixture.Rewritten(succeeded, e =>
        {
            e["type"] = "payment_intent.payment_failed";
            var pi = e["data"]!["object"]!.AsObject();
            pi["status"] = "requires_payment_method";
            pi["amount_received"] = 0;
            pi["last_payment_error"] = JsonNode.Parse("""{"type":"card_error","code":"card_declined","message":"declined"}""");
        });

        var delivered = await webhooks.DeliverAsync(failed);

        Assert.Equal((200, "stale"), (delivered.Status, delivered.Outcome));
        Assert.Equal("captured", await api.TextAsync("SELECT status FROM payments WHERE id = @id", answer.PaymentId));
        Assert.Equal(Captured, await api.TransitionsAsync(answer.PaymentId));
    }
}

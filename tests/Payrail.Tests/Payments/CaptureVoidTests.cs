using System.Text.Json;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>POST /v1/payments/{id}/capture and /void end to end: PostgreSQL, Redis and pspsim are real; PSP calls are counted as sent.</summary>
public sealed class CaptureVoidTests(CaptureVoidFixture api) : IClassFixture<CaptureVoidFixture>
{
    private const string Problems = "https://payrail.dev/problems/";
    private static string NewKey() => Guid.NewGuid().ToString();

    [Fact]
    public async Task Capture_without_a_body_captures_all_that_was_authorized_and_posts_the_hold()
    {
        var payment = await api.AuthorizeAsync(amount: 1000);

        var captured = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), NewKey());

        Assert.Equal(200, captured.Status);
        Assert.Equal("captured", captured.PaymentStatus);
        Assert.Equal(1000, captured.Json.GetProperty("amount_captured").GetInt64());
        Assert.Equal(1, await api.ScalarAsync(
            "SELECT count(*) FROM ledger_transfers WHERE payment_id = @id AND kind = 'post_pending' AND amount_minor = 1000", ("id", payment.Id)));
        Assert.Equal(1000, await BuyerAsync(payment.Buyer, "debits_posted"));
        Assert.Equal(0, await BuyerAsync(payment.Buyer, "debits_pending"));
        Assert.Equal("payment.initiated,payment.authorized,payment.captured,payment.completed", await api.OutboxAsync(payment.Id));
        var intent = await api.PaymentIntentAsync(payment.PaymentIntent);
        Assert.Equal("succeeded", intent.GetProperty("status").GetString());
        Assert.Equal(1000, intent.GetProperty("amount_received").GetInt64());
        Assert.Equal(1, api.PspRequests.Operations(payment.PaymentIntent));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM payment_operations WHERE payment_id = @id AND status = 'succeeded'", ("id", payment.Id)));
        await api.AssertBooksBalanceAsync();
    }

    [Fact]
    public async Task Partial_capture_posts_the_captured_part_and_releases_the_rest()
    {
        var payment = await api.AuthorizeAsync(amount: 1000);

        var captured = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), NewKey(), """{"amount": 600}""");

        Assert.Equal(200, captured.Status);
        Assert.Equal("captured", captured.PaymentStatus);
        Assert.Equal(600, captured.Json.GetProperty("amount_captured").GetInt64());
        Assert.Equal(1000, captured.Json.GetProperty("amount").GetInt64());
        Assert.Equal(1, await api.ScalarAsync(
            "SELECT count(*) FROM ledger_transfers WHERE payment_id = @id AND kind = 'post_pending' AND amount_minor = 600", ("id", payment.Id)));
        Assert.Equal(600, await BuyerAsync(payment.Buyer, "debits_posted"));
        Assert.Equal(0, await BuyerAsync(payment.Buyer, "debits_pending"));
        var intent = await api.PaymentIntentAsync(payment.PaymentIntent);
        Assert.Equal("succeeded", intent.GetProperty("status").GetString());
        Assert.Equal(600, intent.GetProperty("amount_received").GetInt64());
        await api.AssertBooksBalanceAsync();
    }

    [Fact]
    public async Task Void_releases_the_whole_authorization_and_sends_the_reason()
    {
        var payment = await api.AuthorizeAsync(amount: 1000);

        var voided = await api.OperateAsync(payment.Id, "void", api.MerchantToken(), NewKey(), """{"reason": "requested_by_customer"}""");

        Assert.Equal(200, voided.Status);
        Assert.Equal("voided", voided.PaymentStatus);
        Assert.Equal(1, await api.ScalarAsync(
            "SELECT count(*) FROM ledger_transfers WHERE payment_id = @id AND kind = 'void_pending' AND amount_minor = 1000", ("id", payment.Id)));
        Assert.Equal(0, await BuyerAsync(payment.Buyer, "debits_pending"));
        Assert.Equal(0, await BuyerAsync(payment.Buyer, "debits_posted"));
        Assert.Equal("payment.initiated,payment.authorized,payment.voided", await api.OutboxAsync(payment.Id));
        var intent = await api.PaymentIntentAsync(payment.PaymentIntent);
        Assert.Equal("canceled", intent.GetProperty("status").GetString());
        Assert.Equal("requested_by_customer", intent.GetProperty("cancellation_reason").GetString());
        await api.AssertBooksBalanceAsync();
    }

    [Fact]
    public async Task Void_after_capture_is_409_with_the_captured_status_and_calls_no_psp()
    {
        var payment = await api.AuthorizeAsync();
        Assert.Equal(200, (await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), NewKey())).Status);

        var voided = await api.OperateAsync(payment.Id, "void", api.MerchantToken(), NewKey());

        Assert.Equal(409, voided.Status);
        Assert.Equal("application/problem+json", voided.ContentType);
        Assert.Equal(Problems + "payment-state-conflict", voided.ProblemType);
        Assert.Equal("captured", voided.Json.GetProperty("payment_status").GetString());
        Assert.Equal(1, api.PspRequests.Operations(payment.PaymentIntent));
        Assert.Equal("succeeded", (await api.PaymentIntentAsync(payment.PaymentIntent)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_retried_capture_replays_its_answer_with_one_psp_call_and_a_second_capture_is_409()
    {
        var payment = await api.AuthorizeAsync();
        var key = NewKey();

        var first = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), key, """{"amount": 800}""");
        var retried = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), key, """{ "amount":800 }""");
        var second = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), NewKey(), """{"amount": 800}""");

        Assert.Equal(200, first.Status);
        Assert.Equal(200, retried.Status);
        Assert.Equal(first.Body, retried.Body);
        Assert.Equal("true", retried.Headers["Idempotent-Replayed"]);
        Assert.Equal(409, second.Status);
        Assert.Equal(Problems + "payment-state-conflict", second.ProblemType);
        Assert.Equal("captured", second.Json.GetProperty("payment_status").GetString());
        Assert.Equal(1, api.PspRequests.Operations(payment.PaymentIntent));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id AND kind = 'post_pending'", ("id", payment.Id)));
    }

    [Fact]
    public async Task A_retried_void_replays_its_answer_with_one_psp_call()
    {
        var payment = await api.AuthorizeAsync();
        var key = NewKey();

        var first = await api.OperateAsync(payment.Id, "void", api.OpsToken(), key);
        var retried = await api.OperateAsync(payment.Id, "void", api.OpsToken(), key);

        Assert.Equal(200, first.Status);
        Assert.Equal("voided", first.PaymentStatus);
        Assert.Equal(first.Body, retried.Body);
        Assert.Equal("true", retried.Headers["Idempotent-Replayed"]);
        Assert.Equal(1, api.PspRequests.Operations(payment.PaymentIntent));
    }

    [Fact]
    public async Task The_same_key_with_another_amount_is_422()
    {
        var payment = await api.AuthorizeAsync();
        var key = NewKey();
        Assert.Equal(200, (await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), key, """{"amount": 500}""")).Status);

        var other = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), key, """{"amount": 400}""");

        Assert.Equal(422, other.Status);
        Assert.Equal(Problems + "idempotency-key-reused", other.ProblemType);
        Assert.Equal(1, api.PspRequests.Operations(payment.PaymentIntent));
    }

    [Fact]
    public async Task Capture_above_the_authorized_amount_is_409_calls_no_psp_and_leaves_the_authorization_open()
    {
        var payment = await api.AuthorizeAsync(amount: 1000);

        var above = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), NewKey(), """{"amount": 1001}""");

        Assert.Equal(409, above.Status);
        Assert.Equal(Problems + "capture-above-authorized", above.ProblemType);
        Assert.Equal("authorized", above.Json.GetProperty("payment_status").GetString());
        Assert.Equal(0, api.PspRequests.Operations(payment.PaymentIntent));
        Assert.Equal(200, (await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), NewKey(), """{"amount": 1000}""")).Status);
    }

    [Fact]
    public async Task Bad_amounts_and_reasons_are_400_and_write_nothing()
    {
        var payment = await api.AuthorizeAsync(amount: 1000);
        var before = await api.RowCountsAsync();
        var operations = await api.ScalarAsync("SELECT count(*) FROM payment_operations");

        foreach (var body in new[] { """{"amount": 0}""", """{"amount": -5}""", """{"amount": 1.5}""", """{"amount": "600"}""" })
        {
            var refused = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), NewKey(), body);
            Assert.Equal(400, refused.Status);
            Assert.Equal(Problems + "invalid-amount", refused.ProblemType);
        }
        var belowMinimum = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), NewKey(), """{"amount": 49}""");
        Assert.Equal(400, belowMinimum.Status);
        Assert.Equal(Problems + "amount-not-chargeable", belowMinimum.ProblemType);
        foreach (var body in new[] { """{"reason": "because"}""", """{"amount": 100}""", "[1]" })
            Assert.Equal(400, (await api.OperateAsync(payment.Id, "void", api.MerchantToken(), NewKey(), body)).Status);
        Assert.Equal(400, (await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), null)).Status);

        Assert.Equal(before, await api.RowCountsAsync());
        Assert.Equal(operations, await api.ScalarAsync("SELECT count(*) FROM payment_operations"));
        Assert.Equal(0, api.PspRequests.Operations(payment.PaymentIntent));
    }

    [Fact]
    public async Task A_buyer_token_is_403_another_merchants_payment_is_404_and_ops_may_capture()
    {
        var payment = await api.AuthorizeAsync();

        var buyer = await api.OperateAsync(payment.Id, "capture", api.BuyerToken(payment.Buyer), NewKey());
        var otherMerchant = await api.OperateAsync(payment.Id, "void", api.MerchantToken(PaymentsApiFixture.OtherMerchantId), NewKey());
        var unknown = await api.OperateAsync(Guid.NewGuid(), "void", api.MerchantToken(), NewKey());
        var ops = await api.OperateAsync(payment.Id, "capture", api.OpsToken(), NewKey());

        Assert.Equal(403, buyer.Status);
        Assert.Equal(Problems + "forbidden", buyer.ProblemType);
        Assert.Equal(404, otherMerchant.Status);
        Assert.Equal(Problems + "not-found", otherMerchant.ProblemType);
        Assert.Equal(404, unknown.Status);
        Assert.Equal(200, ops.Status);
        Assert.Equal("captured", ops.PaymentStatus);
        Assert.Equal(1, api.PspRequests.Operations(payment.PaymentIntent));
    }

    [Fact]
    public async Task A_capture_after_the_authorization_expired_is_409_and_the_payment_shows_voided()
    {
        var payment = await api.AuthorizeAsync(amount: 1000);
        await api.PspSim.AdvanceClockAsync(TimeSpan.FromDays(8)); // pspsim cancels the expired hold itself

        var late = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), NewKey());

        Assert.Equal(409, late.Status);
        Assert.Equal(Problems + "authorization-expired", late.ProblemType);
        Assert.Equal("voided", late.Json.GetProperty("payment_status").GetString());
        Assert.Equal("voided", (await api.GetAsync($"/v1/payments/{payment.Id}", api.MerchantToken())).PaymentStatus);
        Assert.Equal(0, await BuyerAsync(payment.Buyer, "debits_pending"));
        Assert.Equal(0, await BuyerAsync(payment.Buyer, "debits_posted"));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM payment_operations WHERE payment_id = @id AND status = 'refused'", ("id", payment.Id)));
        await api.AssertBooksBalanceAsync();
    }

    [Fact]
    public async Task Concurrent_capture_and_void_of_one_authorization_let_exactly_one_win_with_one_psp_call()
    {
        const int rounds = 12;
        for (var round = 0; round < rounds; round++)
        {
            var payment = await api.AuthorizeAsync(amount: 1000);
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var capture = Task.Run(async () => { await go.Task; return await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), NewKey(), """{"amount": 700}"""); });
            var @void = Task.Run(async () => { await go.Task; return await api.OperateAsync(payment.Id, "void", api.OpsToken(), NewKey()); });
            go.SetResult();
            var answers = await Task.WhenAll(capture, @void);

            Assert.Single(answers, a => a.Status == 200);
            var loser = Assert.Single(answers, a => a.Status == 409);
            Assert.Contains(loser.ProblemType, new[] { Problems + "payment-operation-in-progress", Problems + "payment-state-conflict" });
            var winner = answers.Single(a => a.Status == 200);
            var stored = (await api.GetAsync($"/v1/payments/{payment.Id}", api.MerchantToken())).PaymentStatus;
            Assert.Equal(winner.PaymentStatus, stored);
            var atPsp = (await api.PaymentIntentAsync(payment.PaymentIntent)).GetProperty("status").GetString();
            Assert.Equal(stored == "captured" ? "succeeded" : "canceled", atPsp);
            Assert.Equal(1, api.PspRequests.Operations(payment.PaymentIntent));
            Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM payment_operations WHERE payment_id = @id AND status = 'pending'", ("id", payment.Id)));
        }
        await api.AssertBooksBalanceAsync();
    }

    [Fact]
    public async Task A_crash_between_the_psp_capture_and_its_record_resolves_on_retry_to_the_psps_truth_without_a_second_call()
    {
        var payment = await api.AuthorizeAsync(amount: 1000);
        var key = NewKey();
        const string body = """{"amount": 700}""";
        api.CrashPoints.BeforeOperationRecorded = _ => throw new InvalidOperationException("simulated crash after the PSP captured");
        ApiAnswer crashed;
        try
        {
            crashed = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), key, body);
        }
        finally
        {
            api.CrashPoints.BeforeOperationRecorded = null;
        }
        Assert.Equal(500, crashed.Status);
        Assert.Equal("authorized", (await api.GetAsync($"/v1/payments/{payment.Id}", api.MerchantToken())).PaymentStatus);
        Assert.Equal("succeeded", (await api.PaymentIntentAsync(payment.PaymentIntent)).GetProperty("status").GetString());
        Assert.Equal(409, (await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), key, body)).Status); // still leased
        Assert.Equal(409, (await api.OperateAsync(payment.Id, "void", api.MerchantToken(), NewKey())).Status); // the capture is pending

        api.Clock.Offset += TimeSpan.FromMilliseconds(CaptureVoidFixture.LeaseMs + 1_000);
        var resumed = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), key, body);

        Assert.Equal(200, resumed.Status);
        Assert.Equal("captured", resumed.PaymentStatus);
        Assert.Equal(700, resumed.Json.GetProperty("amount_captured").GetInt64());
        Assert.Equal(1, api.PspRequests.Operations(payment.PaymentIntent));
        Assert.Equal(700, await BuyerAsync(payment.Buyer, "debits_posted"));
        await api.AssertBooksBalanceAsync();
    }

    [Fact]
    public async Task An_operation_in_progress_refusal_is_not_the_keys_final_answer_and_its_retry_gets_the_real_one()
    {
        var payment = await api.AuthorizeAsync(amount: 1000);
        var voidKey = NewKey();
        var captureKey = NewKey();
        // A void claimed and left pending (its owner died before the PSP call): a capture meanwhile is refused as in progress.
        api.CrashPoints.AfterOperationClaimed = _ => throw new InvalidOperationException("simulated crash before the PSP call");
        try
        {
            Assert.Equal(500, (await api.OperateAsync(payment.Id, "void", api.MerchantToken(), voidKey)).Status);
        }
        finally
        {
            api.CrashPoints.AfterOperationClaimed = null;
        }
        var inProgress = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), captureKey);
        Assert.Equal((409, Problems + "payment-operation-in-progress"), (inProgress.Status, inProgress.ProblemType));
        Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM idempotency_keys WHERE key = @key AND response_status IS NOT NULL", ("key", captureKey)));

        api.Clock.Offset += TimeSpan.FromMilliseconds(CaptureVoidFixture.LeaseMs + 1_000);
        var voided = await api.OperateAsync(payment.Id, "void", api.MerchantToken(), voidKey);
        Assert.Equal((200, "voided"), (voided.Status, voided.PaymentStatus));
        var retried = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), captureKey);

        // The capture's own answer now: the payment was voided, so a capture is a state conflict (and stays its answer).
        Assert.Equal((409, Problems + "payment-state-conflict", "voided"),
            (retried.Status, retried.ProblemType, retried.Json.GetProperty("payment_status").GetString()));
        Assert.DoesNotContain(retried.Headers.Keys, k => k.Equals("Idempotent-Replayed", StringComparison.OrdinalIgnoreCase));
        var replayed = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), captureKey);
        Assert.Equal((409, Problems + "payment-state-conflict"), (replayed.Status, replayed.ProblemType));
        Assert.Equal(1, api.PspRequests.Operations(payment.PaymentIntent));
        await api.AssertBooksBalanceAsync();
    }

    [Fact]
    public async Task A_crash_after_the_claim_and_before_the_psp_call_is_sent_once_by_the_retry()
    {
        var payment = await api.AuthorizeAsync(amount: 1000);
        var key = NewKey();
        api.CrashPoints.AfterOperationClaimed = _ => throw new InvalidOperationException("simulated crash before the PSP call");
        ApiAnswer crashed;
        try
        {
            crashed = await api.OperateAsync(payment.Id, "void", api.MerchantToken(), key);
        }
        finally
        {
            api.CrashPoints.AfterOperationClaimed = null;
        }
        Assert.Equal(500, crashed.Status);
        Assert.Equal(0, api.PspRequests.Operations(payment.PaymentIntent));

        api.Clock.Offset += TimeSpan.FromMilliseconds(CaptureVoidFixture.LeaseMs + 1_000);
        var resumed = await api.OperateAsync(payment.Id, "void", api.MerchantToken(), key);

        Assert.Equal(200, resumed.Status);
        Assert.Equal("voided", resumed.PaymentStatus);
        Assert.Equal(1, api.PspRequests.Operations(payment.PaymentIntent));
        Assert.Equal("canceled", (await api.PaymentIntentAsync(payment.PaymentIntent)).GetProperty("status").GetString());
        await api.AssertBooksBalanceAsync();
    }

    [Fact]
    public async Task A_capture_whose_psp_answer_was_lost_is_503_and_its_retry_finds_it_captured_without_a_second_call()
    {
        var payment = await api.AuthorizeAsync(amount: 1000);
        var key = NewKey();
        await api.PspSim.AddFaultAsync("response_lost", count: 1, pathPrefix: $"/v1/payment_intents/{payment.PaymentIntent}/capture");

        var lost = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), key);

        Assert.Equal(503, lost.Status);
        Assert.Equal(Problems + "psp-outcome-unknown", lost.ProblemType);
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM payment_operations WHERE payment_id = @id AND status = 'pending'", ("id", payment.Id)));
        api.Clock.Offset += TimeSpan.FromMilliseconds(CaptureVoidFixture.LeaseMs + 1_000);
        var resumed = await api.OperateAsync(payment.Id, "capture", api.MerchantToken(), key);

        Assert.Equal(200, resumed.Status);
        Assert.Equal("captured", resumed.PaymentStatus);
        Assert.Equal(1, api.PspRequests.Operations(payment.PaymentIntent));
        await api.AssertBooksBalanceAsync();
    }

    [Fact]
    public async Task A_void_answered_with_a_saved_psp_500_is_sent_again_under_its_next_psp_key_on_retry()
    {
        var payment = await api.AuthorizeAsync(amount: 1000);
        var key = NewKey();
        await api.PspSim.AddFaultAsync("http_500_rolled_back", count: 1, pathPrefix: $"/v1/payment_intents/{payment.PaymentIntent}/cancel");

        var failed = await api.OperateAsync(payment.Id, "void", api.MerchantToken(), key);

        Assert.Equal(503, failed.Status);
        Assert.Equal("requires_capture", (await api.PaymentIntentAsync(payment.PaymentIntent)).GetProperty("status").GetString());
        api.Clock.Offset += TimeSpan.FromMilliseconds(CaptureVoidFixture.LeaseMs + 1_000);
        var resumed = await api.OperateAsync(payment.Id, "void", api.MerchantToken(), key);

        Assert.Equal(200, resumed.Status);
        Assert.Equal("voided", resumed.PaymentStatus);
        Assert.Equal("canceled", (await api.PaymentIntentAsync(payment.PaymentIntent)).GetProperty("status").GetString());
        Assert.Equal(2, api.PspRequests.Operations(payment.PaymentIntent));
        Assert.Equal(2, await api.ScalarAsync("SELECT psp_attempt FROM payment_operations WHERE payment_id = @id AND status = 'succeeded'", ("id", payment.Id)));
        await api.AssertBooksBalanceAsync();
    }

    [Fact]
    public async Task The_openapi_document_lists_capture_and_void_with_a_required_idempotency_key()
    {
        using var document = JsonDocument.Parse(await api.Http.GetStringAsync("/openapi/v1.json"));
        foreach (var path in new[] { "/v1/payments/{id}/capture", "/v1/payments/{id}/void" })
        {
            var post = document.RootElement.GetProperty("paths").GetProperty(path).GetProperty("post");
            Assert.Contains(post.GetProperty("parameters").EnumerateArray(),
                p => p.GetProperty("name").GetString() == "Idempotency-Key" && p.GetProperty("required").GetBoolean());
        }
    }

    private Task<long> BuyerAsync(string buyer, string column) =>
        api.ScalarAsync($"SELECT {column} FROM ledger_account_totals WHERE owner = @o AND currency = 'USD'", ("o", "buyer:" + buyer));
}

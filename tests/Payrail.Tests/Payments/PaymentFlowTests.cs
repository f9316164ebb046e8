using System.Text.Json;
using Npgsql;
using Payrail.Api;
using Payrail.Auth;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>POST /v1/payments end to end: PostgreSQL, Redis and pspsim are real.</summary>
public sealed class PaymentFlowTests(PaymentsApiFixture api) : IClassFixture<PaymentsApiFixture>
{
    private static string NewKey() => Guid.NewGuid().ToString();
    private static string NewBuyer() => "buyer_" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task Automatic_capture_answers_201_captured_with_a_posted_transfer_and_outbox_events()
    {
        var buyer = NewBuyer();
        var answer = await api.PostPaymentAsync(api.BuyerToken(buyer), NewKey(), PaymentsApiFixture.Body(amount: 1999, description: "order 42"));

        Assert.Equal(201, answer.Status);
        Assert.Equal("captured", answer.PaymentStatus);
        var json = answer.Json;
        Assert.Equal(1999, json.GetProperty("amount").GetInt64());
        Assert.Equal(1999, json.GetProperty("amount_captured").GetInt64());
        Assert.Equal("USD", json.GetProperty("currency").GetString());
        Assert.Equal(buyer, json.GetProperty("buyer_id").GetString());
        Assert.Equal(PaymentsApiFixture.MerchantId, json.GetProperty("merchant_id").GetString());
        Assert.Equal("stripe", json.GetProperty("psp").GetString());
        Assert.StartsWith("pi_", json.GetProperty("psp_reference").GetString());
        Assert.Equal("order 42", json.GetProperty("description").GetString());

        var id = answer.PaymentId;
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id AND kind = 'posted' AND amount_minor = 1999", ("id", id)));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", id)));
        Assert.Equal(1999, await api.ScalarAsync("SELECT debits_posted FROM ledger_account_totals WHERE owner = @o AND currency = 'USD'", ("o", "buyer:" + buyer)));
        Assert.Equal(0, await api.ScalarAsync("SELECT credits_posted + credits_pending + debits_pending FROM ledger_account_totals WHERE owner = @o", ("o", "buyer:" + buyer)));
        await AssertMerchantAccountMatchesTransfersAsync();

        Assert.Equal("payment.initiated,payment.authorized,payment.captured,payment.completed",
            await TextAsync("SELECT string_agg(event_type, ',' ORDER BY seq) FROM outbox WHERE aggregate_id = @id", id));
        Assert.Equal("-initiated,initiated-processing,processing-authorized,authorized-captured",
            await TextAsync("SELECT string_agg(coalesce(from_status, '') || '-' || to_status, ',' ORDER BY id) FROM payment_transitions WHERE payment_id = @id", id));
        Assert.Equal("completed", await TextAsync("SELECT status FROM idempotency_keys WHERE payment_id = @id", id));
        Assert.Equal(1, await api.PaymentIntentCountAsync(id));
    }

    [Fact]
    public async Task Manual_capture_answers_201_authorized_with_a_pending_transfer()
    {
        var buyer = NewBuyer();
        var answer = await api.PostPaymentAsync(api.BuyerToken(buyer), NewKey(), PaymentsApiFixture.Body(amount: 5000, currency: "EUR", capture: "manual"));

        Assert.Equal(201, answer.Status);
        Assert.Equal("authorized", answer.PaymentStatus);
        Assert.Equal("manual", answer.Json.GetProperty("capture").GetString());
        Assert.Equal(0, answer.Json.GetProperty("amount_captured").GetInt64());
        var id = answer.PaymentId;
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id AND kind = 'pending' AND amount_minor = 5000 AND currency = 'EUR'", ("id", id)));
        Assert.Equal(5000, await api.ScalarAsync("SELECT debits_pending FROM ledger_account_totals WHERE owner = @o AND currency = 'EUR'", ("o", "buyer:" + buyer)));
        Assert.Equal(0, await api.ScalarAsync("SELECT debits_posted FROM ledger_account_totals WHERE owner = @o AND currency = 'EUR'", ("o", "buyer:" + buyer)));
        Assert.Equal("payment.initiated,payment.authorized",
            await TextAsync("SELECT string_agg(event_type, ',' ORDER BY seq) FROM outbox WHERE aggregate_id = @id", id));
        await AssertMerchantAccountMatchesTransfersAsync();
    }

    [Fact]
    public async Task Decline_answers_402_failed_and_a_retry_replays_it_identically()
    {
        var token = api.BuyerToken(NewBuyer());
        var key = NewKey();
        var body = PaymentsApiFixture.Body(paymentMethod: "pm_card_chargeDeclined");

        var first = await api.PostPaymentAsync(token, key, body);
        Assert.Equal(402, first.Status);
        Assert.Equal("failed", first.PaymentStatus);
        Assert.Equal("generic_decline", first.Json.GetProperty("failure_code").GetString());
        Assert.False(first.Headers.ContainsKey("Idempotent-Replayed"));
        Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", first.PaymentId)));
        Assert.Equal("payment.initiated,payment.failed",
            await TextAsync("SELECT string_agg(event_type, ',' ORDER BY seq) FROM outbox WHERE aggregate_id = @id", first.PaymentId));

        var replay = await api.PostPaymentAsync(token, key, body);
        Assert.Equal(402, replay.Status);
        Assert.Equal(first.Body, replay.Body);
        Assert.Equal("true", replay.Headers["Idempotent-Replayed"]);
    }

    [Fact]
    public async Task Replay_after_completion_returns_the_identical_body_with_the_replayed_header()
    {
        var token = api.BuyerToken(NewBuyer());
        var key = NewKey();
        var first = await api.PostPaymentAsync(token, key, PaymentsApiFixture.Body(amount: 700));
        // Same request, different spelling: field order and whitespace do not change the fingerprint.
        var respelled = $$"""{ "payment_method": "pm_card_visa", "currency": "USD", "amount": 700, "merchant_id": "{{PaymentsApiFixture.MerchantId}}" }""";
        var replay = await api.PostPaymentAsync(token, key, respelled);

        Assert.Equal(201, first.Status);
        Assert.Equal(201, replay.Status);
        Assert.Equal(first.Body, replay.Body);
        Assert.Equal("true", replay.Headers["Idempotent-Replayed"]);
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM payments WHERE buyer_id = @b", ("b", first.Json.GetProperty("buyer_id").GetString()!)));
        Assert.Equal(1, await api.PaymentIntentCountAsync(first.PaymentId));
    }

    [Fact]
    public async Task Same_key_with_a_different_body_answers_422_and_writes_nothing()
    {
        var token = api.BuyerToken(NewBuyer());
        var key = NewKey();
        var first = await api.PostPaymentAsync(token, key, PaymentsApiFixture.Body(amount: 100));
        var before = await api.RowCountsAsync();

        var reused = await api.PostPaymentAsync(token, key, PaymentsApiFixture.Body(amount: 101));

        Assert.Equal(201, first.Status);
        Assert.Equal(422, reused.Status);
        Assert.Equal("application/problem+json", reused.ContentType);
        Assert.Equal("https://payrail.dev/problems/idempotency-key-reused", reused.ProblemType);
        Assert.Equal(before, await api.RowCountsAsync());
    }

    [Fact]
    public async Task The_same_key_from_two_buyers_makes_two_payments()
    {
        var key = NewKey();
        var a = await api.PostPaymentAsync(api.BuyerToken(NewBuyer()), key, PaymentsApiFixture.Body());
        var b = await api.PostPaymentAsync(api.BuyerToken(NewBuyer()), key, PaymentsApiFixture.Body());

        Assert.Equal(201, a.Status);
        Assert.Equal(201, b.Status);
        Assert.NotEqual(a.PaymentId, b.PaymentId);
    }

    [Fact]
    public async Task Fifty_concurrent_identical_requests_charge_once()
    {
        var buyer = NewBuyer();
        var token = api.BuyerToken(buyer);
        var key = NewKey();
        var body = PaymentsApiFixture.Body(amount: 4242);
        using var start = new SemaphoreSlim(0);
        var requests = Enumerable.Range(0, 50).Select(async _ =>
        {
            await start.WaitAsync();
            return await api.PostPaymentAsync(token, key, body);
        }).ToList();
        start.Release(50);
        var answers = await Task.WhenAll(requests);

        var created = answers.Where(a => a.Status == 201).ToList();
        Assert.All(answers, a => Assert.Contains(a.Status, new[] { 201, 409 }));
        Assert.NotEmpty(created);
        Assert.All(created, a => Assert.Equal(created[0].Body, a.Body));
        Assert.All(answers.Where(a => a.Status == 409), a =>
        {
            Assert.Equal("https://payrail.dev/problems/idempotency-key-in-use", a.ProblemType);
            Assert.True(a.Headers.ContainsKey("Retry-After"));
        });
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM payments WHERE buyer_id = @b", ("b", buyer)));
        Assert.Equal(1, await api.PaymentIntentCountAsync(created[0].PaymentId));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", created[0].PaymentId)));
    }

    [Fact]
    public async Task Concurrent_payments_between_the_same_two_accounts_all_succeed_and_the_books_balance()
    {
        var buyer = NewBuyer();
        var token = api.BuyerToken(buyer);
        await api.PostPaymentAsync(token, NewKey(), PaymentsApiFixture.Body(amount: 50)); // accounts exist: only the lock race remains
        using var start = new SemaphoreSlim(0);
        var requests = Enumerable.Range(0, 32).Select(async i =>
        {
            await start.WaitAsync();
            return await api.PostPaymentAsync(token, NewKey(), PaymentsApiFixture.Body(amount: 100 + i,
                capture: i % 2 == 0 ? "automatic" : "manual"));
        }).ToList();
        start.Release(32);
        var answers = await Task.WhenAll(requests);

        Assert.All(answers, a => Assert.Equal(201, a.Status));
        var automatic = Enumerable.Range(0, 32).Where(i => i % 2 == 0).Sum(i => 100L + i);
        var manual = Enumerable.Range(0, 32).Where(i => i % 2 == 1).Sum(i => 100L + i);
        Assert.Equal(50 + automatic, await api.ScalarAsync("SELECT debits_posted FROM ledger_account_totals WHERE owner = @o", ("o", "buyer:" + buyer)));
        Assert.Equal(manual, await api.ScalarAsync("SELECT debits_pending FROM ledger_account_totals WHERE owner = @o", ("o", "buyer:" + buyer)));
        await AssertMerchantAccountMatchesTransfersAsync();
    }

    [Fact]
    public async Task A_burst_of_concurrent_payments_waits_in_the_api_pool_of_10_connections()
    {
        using var start = new SemaphoreSlim(0);
        var requests = Enumerable.Range(0, 40).Select(async _ =>
        {
            await start.WaitAsync();
            return await api.PostPaymentAsync(api.BuyerToken(NewBuyer()), NewKey(), PaymentsApiFixture.Body());
        }).ToList();
        start.Release(40);
        var answers = await Task.WhenAll(requests);

        Assert.All(answers, a => Assert.Equal(201, a.Status));
        // Npgsql's default pool (100) opens a connection per request in flight: on a loaded 2-core server that raised
        // PostgreSQL's CPU per payment 1.4-2 times. Idle connections stay open, so the count after the burst is its peak.
        Assert.InRange(await api.ScalarAsync(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'payrail-api'"), 1, 10);
    }

    [Fact]
    public async Task A_payment_is_visible_to_its_buyer_and_merchant_and_to_nobody_else()
    {
        var buyer = NewBuyer();
        var created = await api.PostPaymentAsync(api.BuyerToken(buyer), NewKey(), PaymentsApiFixture.Body());
        var path = $"/v1/payments/{created.PaymentId}";

        var byBuyer = await api.GetAsync(path, api.BuyerToken(buyer));
        var byMerchant = await api.GetAsync(path, api.Token(Roles.Merchant, "clerk", PaymentsApiFixture.MerchantId));
        var byOtherBuyer = await api.GetAsync(path, api.BuyerToken(NewBuyer()));
        var byOtherMerchant = await api.GetAsync(path, api.Token(Roles.Merchant, "clerk", PaymentsApiFixture.OtherMerchantId));

        Assert.Equal(200, byBuyer.Status);
        Assert.Equal(created.Body, byBuyer.Body);
        Assert.Equal(200, byMerchant.Status);
        Assert.Equal(404, byOtherBuyer.Status);
        Assert.Equal("https://payrail.dev/problems/not-found", byOtherBuyer.ProblemType);
        Assert.Equal(404, byOtherMerchant.Status);
    }

    [Fact]
    public async Task A_merchant_lists_its_payments_newest_first_page_by_page()
    {
        var merchant = "m_list_" + Guid.NewGuid().ToString("N")[..8];
        var ops = api.Token(Roles.Ops, "operator");
        using (var create = new HttpRequestMessage(HttpMethod.Post, "/v1/merchants")
        {
            Content = new StringContent($$"""{"id":"{{merchant}}","name":"List Test"}""", System.Text.Encoding.UTF8, "application/json"),
        })
        {
            create.Headers.Authorization = new("Bearer", ops);
            using var response = await api.Http.SendAsync(create);
            Assert.Equal(201, (int)response.StatusCode);
        }
        var token = api.BuyerToken(NewBuyer());
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++)
            ids.Add((await api.PostPaymentAsync(token, NewKey(), PaymentsApiFixture.Body(amount: 100 + i, merchantId: merchant))).PaymentId);
        ids.Reverse();
        var merchantToken = api.Token(Roles.Merchant, "clerk", merchant);

        var first = await api.GetAsync("/v1/payments?limit=2", merchantToken);
        var second = await api.GetAsync($"/v1/payments?limit=2&starting_after={ids[1]}", merchantToken);
        var last = await api.GetAsync($"/v1/payments?limit=2&starting_after={ids[3]}", merchantToken);
        var badLimit = await api.GetAsync("/v1/payments?limit=101", merchantToken);
        var byBuyer = await api.GetAsync("/v1/payments", token);

        Assert.Equal(ids[..2], Ids(first));
        Assert.True(first.Json.GetProperty("has_more").GetBoolean());
        Assert.Equal(ids[2..4], Ids(second));
        Assert.Equal(ids[4..], Ids(last));
        Assert.False(last.Json.GetProperty("has_more").GetBoolean());
        Assert.Equal(400, badLimit.Status);
        Assert.Equal(403, byBuyer.Status);

        static List<Guid> Ids(ApiAnswer page) =>
            page.Json.GetProperty("data").EnumerateArray().Select(p => Guid.Parse(p.GetProperty("id").GetString()!)).ToList();
    }

    [Fact]
    public async Task Creating_a_merchant_needs_an_ops_token()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/merchants")
        {
            Content = new StringContent("""{"id":"m_nope","name":"Nope"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", api.BuyerToken(NewBuyer()));
        using var response = await api.Http.SendAsync(request);

        Assert.Equal(403, (int)response.StatusCode);
        Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM merchants WHERE id = 'm_nope'"));
    }

    [Theory]
    [InlineData("""{"id":"m_text_nul","name":"A\u0000B"}""")]
    [InlineData("""{"id":"m_text_surrogate","name":"A\ud800B"}""")]
    [InlineData("""{"id":"m_text_\udc00","name":"Name"}""")]
    [InlineData("""{"id":"m_text_escape","name":"A\u001b[31mB"}""")]
    public async Task A_merchant_name_or_id_that_cannot_be_stored_is_invalid_text_and_nothing_is_written(string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/merchants")
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", api.Token(Roles.Ops, "operator"));
        using var response = await api.Http.SendAsync(request);

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal(Problems.InvalidText, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("type").GetString());
        Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM merchants WHERE id LIKE 'm_text_%'"));
    }

    [Fact]
    public async Task Health_readiness_and_metrics_are_served()
    {
        await api.PostPaymentAsync(api.BuyerToken(NewBuyer()), NewKey(), PaymentsApiFixture.Body());

        var health = await api.Http.GetAsync("/healthz");
        var ready = await api.Http.GetStringAsync("/readyz");
        var metrics = await api.ManagementHttp.GetStringAsync("/metrics");

        Assert.Equal(200, (int)health.StatusCode);
        Assert.Contains("\"ready\"", ready);
        Assert.Contains("payrail_idempotency_outcomes", metrics);
        Assert.Contains("payrail_payments", metrics);
        Assert.Contains("payrail_psp_call_duration", metrics);
        Assert.Contains("http_server_request_duration", metrics);
    }

    private async Task AssertMerchantAccountMatchesTransfersAsync()
    {
        await api.AssertBooksBalanceAsync();
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT count(*) FROM ledger_account_totals a
            WHERE a.debits_posted <> coalesce((SELECT sum(amount_minor) FROM ledger_transfers t WHERE t.debit_account_id = a.id AND t.kind IN ('posted', 'post_pending')), 0)
               OR a.credits_posted <> coalesce((SELECT sum(amount_minor) FROM ledger_transfers t WHERE t.credit_account_id = a.id AND t.kind IN ('posted', 'post_pending')), 0)
            """, connection);
        Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
    }

    private async Task<string?> TextAsync(string sql, Guid id)
    {
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("id", id);
        return (string?)await command.ExecuteScalarAsync();
    }
}

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using Payrail.Payments;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>
/// A 1.5-second synchronous budget and a two-second lease, so a PSP that keeps a key busy outlasts one
/// request and "after the lease" comes quickly; no transport retries, so every PSP answer is seen as sent.
/// </summary>
public sealed class PspOutcomeFixture : PaymentsApiFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Payments:SyncBudgetMs", "1500"),
        new("Idempotency:LeaseMs", "2000"),
        new("Stripe:MaxNetworkRetries", "0"),
    ];
}

/// <summary>
/// PSP answers that do not prove a decision — a key in use, an idempotency error, a rate limit, a lock
/// timeout, a proxy's bare 408, an answer that disagrees with the payment — leave the payment processing
/// (202, key processing, no ledger entries); a retry after the lease re-asks the PSP with the same key and
/// charges exactly once. Any of them recorded as a failure (402) would let the buyer's next attempt charge again.
/// </summary>
public sealed class PspOutcomeTests(PspOutcomeFixture api) : IClassFixture<PspOutcomeFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => api.PspSim.ResetAsync();

    public Task DisposeAsync() => api.PspSim.ResetAsync();

    [Fact]
    public async Task A_PSP_key_held_by_a_concurrent_request_is_202_processing_and_a_later_retry_charges_once()
    {
        var (token, key, body) = NewPayment(amount: 3_101);
        // The first attempt's PSP request holds the key past the budget and past the next attempt's takeover.
        await api.PspSim.AddFaultAsync("hold_key", count: 1, pathPrefix: "/v1/payment_intents", method: "POST", durationMs: 5_000);

        var first = await api.PostPaymentAsync(token, key, body);
        Assert.Equal(202, first.Status);
        var inUse = await RetryAsync(token, key, body, a => a.Status != 409, "a retry after the lease takes over");

        // The PSP said "this key is busy", not "declined": the takeover's answer is still processing.
        Assert.Equal(202, inUse.Status);
        Assert.Equal("processing", inUse.PaymentStatus);
        Assert.Equal(first.PaymentId, inUse.PaymentId);
        await AssertStillProcessingAsync(first.PaymentId);

        var finished = await RetryAsync(token, key, body, Decided, "the held request finishes at the PSP");
        await AssertCapturedOnceAsync(finished, first.PaymentId, 3_101);
    }

    [Fact]
    public async Task A_PSP_idempotency_error_leaves_the_payment_processing_never_failed()
    {
        var (token, key, body) = NewPayment(amount: 3_202);
        // Someone used the PSP key (our payment id) first with other parameters (another amount, no payment method):
        // the PSP answers idempotency_error.
        api.CrashPoints.AfterIntentRecorded = paymentId => CreateIntentAsync(paymentId, amount: 100);
        ApiAnswer answer;
        try
        {
            answer = await api.PostPaymentAsync(token, key, body);
        }
        finally
        {
            api.CrashPoints.AfterIntentRecorded = null;
        }

        Assert.Equal(202, answer.Status);
        Assert.Equal("processing", answer.PaymentStatus);
        await AssertStillProcessingAsync(answer.PaymentId);
        Assert.Equal(1, await api.PaymentIntentCountAsync(answer.PaymentId)); // only the other one: no charge of ours

        // Retried after the lease: the same answer again, still not a failure.
        var retried = await RetryAsync(token, key, body, a => a.Status != 409, "a retry after the lease takes over");
        Assert.Equal(202, retried.Status);
        await AssertStillProcessingAsync(answer.PaymentId);
    }

    [Theory]
    [InlineData("rate_limit")]
    [InlineData("lock_timeout")]
    public async Task A_Stripe_429_storm_is_202_processing_never_a_decline_and_a_retry_after_it_charges_once(string mode)
    {
        var (token, key, body) = NewPayment(amount: 3_303);
        // Longer than the retries the connector makes after each Retry-After within the budget.
        await api.PspSim.AddFaultAsync(mode, count: 1_000, pathPrefix: "/v1/payment_intents", method: "POST");

        var first = await api.PostPaymentAsync(token, key, body);
        await api.PspSim.ResetAsync();

        Assert.Equal(202, first.Status);
        Assert.Equal("processing", first.PaymentStatus);
        await AssertStillProcessingAsync(first.PaymentId);
        Assert.Equal(0, await api.PaymentIntentCountAsync(first.PaymentId));
        var finished = await RetryAsync(token, key, body, Decided, "a retry after the lease takes over and finishes");
        await AssertCapturedOnceAsync(finished, first.PaymentId, 3_303);
    }

    [Theory]
    [InlineData("rate_limit")]
    [InlineData("lock_timeout")]
    public async Task A_single_Stripe_429_is_retried_after_its_Retry_After_within_the_budget_and_charges_once(string mode)
    {
        var (token, key, body) = NewPayment(amount: 3_313);
        await api.PspSim.AddFaultAsync(mode, count: 1, pathPrefix: "/v1/payment_intents", method: "POST");

        var answer = await api.PostPaymentAsync(token, key, body);

        await AssertCapturedOnceAsync(answer, answer.PaymentId, 3_313);
    }

    [Fact]
    public async Task A_bare_408_after_the_PSP_charged_is_202_processing_and_a_retry_finds_the_one_charge()
    {
        var (token, key, body) = NewPayment(amount: 3_404);
        await api.PspSim.AddFaultAsync("proxy_408", count: 1, pathPrefix: "/v1/payment_intents", method: "POST");

        var first = await api.PostPaymentAsync(token, key, body);

        // A proxy's 408 proves nothing about the charge behind it: not a decline.
        Assert.Equal(202, first.Status);
        Assert.Equal("processing", first.PaymentStatus);
        await AssertStillProcessingAsync(first.PaymentId);
        Assert.Equal(1, await api.PaymentIntentCountAsync(first.PaymentId));
        var finished = await RetryAsync(token, key, body, Decided, "a retry after the lease takes over and finishes");
        await AssertCapturedOnceAsync(finished, first.PaymentId, 3_404);
    }

    [Theory]
    [InlineData("tamper_amount", "amount")]
    [InlineData("tamper_amount_received", "amount_captured")]
    [InlineData("tamper_currency", "currency")]
    public async Task A_PSP_answer_that_disagrees_with_the_payment_keeps_it_processing_and_is_counted(string mode, string field)
    {
        var (token, key, body) = NewPayment(amount: 3_505);
        using var mismatches = new MismatchCounter();
        await api.PspSim.AddFaultAsync(mode, count: 1, pathPrefix: "/v1/payment_intents", method: "POST");

        var first = await api.PostPaymentAsync(token, key, body);

        Assert.Equal(202, first.Status);
        Assert.Equal("processing", first.PaymentStatus);
        await AssertStillProcessingAsync(first.PaymentId);
        Assert.Equal(1, mismatches.Of(field));
        // The PSP's stored answer is right: the retry after the lease records it, once.
        var finished = await RetryAsync(token, key, body, Decided, "a retry after the lease takes over and finishes");
        await AssertCapturedOnceAsync(finished, first.PaymentId, 3_505);
        Assert.Equal(1, mismatches.Of(field));
    }

    /// <summary>Neither in flight (409) nor undecided (202: also what a slow PSP under load gets within the budget).</summary>
    private static bool Decided(ApiAnswer answer) => answer.Status is not (409 or 202);

    private (string Token, string Key, string Body) NewPayment(long amount) =>
        (api.BuyerToken("b_" + Guid.NewGuid().ToString("N")[..10]), Guid.NewGuid().ToString(), PaymentsApiFixture.Body(amount: amount));

    private async Task<ApiAnswer> RetryAsync(string token, string key, string body, Func<ApiAnswer, bool> done, string because)
    {
        ApiAnswer? answer = null;
        await Eventually.TrueAsync(async () =>
        {
            answer = await api.PostPaymentAsync(token, key, body);
            return done(answer);
        }, TimeSpan.FromSeconds(20), because);
        return answer!;
    }

    /// <summary>What an unknown outcome must leave: payment and key processing, no money moved in the books.</summary>
    private async Task AssertStillProcessingAsync(Guid paymentId)
    {
        Assert.Equal("processing", await TextAsync("SELECT status FROM payments WHERE id = @id", paymentId));
        Assert.Equal("processing", await TextAsync("SELECT status FROM idempotency_keys WHERE payment_id = @id", paymentId));
        Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", paymentId)));
    }

    private async Task AssertCapturedOnceAsync(ApiAnswer finished, Guid paymentId, long amount)
    {
        Assert.Equal(201, finished.Status);
        Assert.Equal("captured", finished.PaymentStatus);
        Assert.Equal(paymentId, finished.PaymentId);
        Assert.Equal(amount, finished.Json.GetProperty("amount_captured").GetInt64());
        Assert.Equal(1, await api.PaymentIntentCountAsync(paymentId));
        Assert.Equal("completed", await TextAsync("SELECT status FROM idempotency_keys WHERE payment_id = @id", paymentId));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", paymentId)));
        await api.AssertBooksBalanceAsync();
    }

    /// <summary>A PaymentIntent made directly at the PSP under Payrail's PSP key (the payment id), with other parameters.</summary>
    private async Task CreateIntentAsync(Guid paymentId, long amount)
    {
        using var http = new HttpClient { BaseAddress = new Uri(api.PspSim.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", api.PspSim.ApiKey);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/payment_intents")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["amount"] = amount.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["currency"] = "usd",
                ["metadata[payrail_payment_id]"] = paymentId.ToString(),
            }),
            Headers = { { "Idempotency-Key", paymentId.ToString() } },
        };
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    private async Task<string?> TextAsync(string sql, Guid id)
    {
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("id", id);
        return (string?)await command.ExecuteScalarAsync();
    }

    /// <summary>Counts payrail.psp.answer_mismatches by field while it lives (only this class injects mismatches).</summary>
    private sealed class MismatchCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _byField = new();

        public MismatchCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == PaymentMetrics.MeterName && instrument.Name == PaymentMetrics.PspAnswerMismatchesName)
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                    if (tag.Key == "field" && tag.Value is string field) _byField.AddOrUpdate(field, value, (_, n) => n + value);
            });
            _listener.Start();
        }

        public long Of(string field) => _byField.GetValueOrDefault(field);

        public void Dispose() => _listener.Dispose();
    }
}

using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>
/// A two-second lease (so "after the lease" comes quickly), a search that lags writes by 0.5 s at pspsim and is believed
/// 1 s after the last 5xx here, no transport retries.
/// </summary>
public sealed class PspServerErrorFixture : PaymentsApiFixture
{
    public PspServerErrorFixture() => PspSim.ExtraArgs.Add("--PspSim:SearchLagMs=500");

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Payments:SyncBudgetMs", "1500"),
        new("Idempotency:LeaseMs", "2000"),
        new("Stripe:MaxNetworkRetries", "0"),
        new("Stripe:SearchFreshnessMs", "1000"),
    ];
}

/// <summary>
/// As <see cref="PspServerErrorFixture"/>, with a search lagging 4 s (longer than one lease, so retries come while the
/// charge is invisible to search) and believed 8 s after the last 5xx.
/// </summary>
public sealed class LaggingSearchFixture : PaymentsApiFixture
{
    public const int SearchLagMs = 4_000;

    public LaggingSearchFixture() => PspSim.ExtraArgs.Add($"--PspSim:SearchLagMs={SearchLagMs}");

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Payments:SyncBudgetMs", "1500"),
        new("Idempotency:LeaseMs", "2000"),
        new("Stripe:MaxNetworkRetries", "0"),
        new("Stripe:SearchFreshnessMs", "8000"),
    ];
}

/// <summary>The checks shared by the PSP 500 tests: what a retry answers and what a finished payment must leave.</summary>
internal static class PspServerErrorChecks
{
    /// <summary>Neither in flight (409) nor undecided (202).</summary>
    public static bool Decided(ApiAnswer answer) => answer.Status is not (409 or 202);

    public static (string Token, string Key, string Body) NewPayment(PaymentsApiFixture api, long amount) =>
        (api.BuyerToken("b_" + Guid.NewGuid().ToString("N")[..10]), Guid.NewGuid().ToString(), PaymentsApiFixture.Body(amount: amount));

    public static async Task<ApiAnswer> RetryAsync(PaymentsApiFixture api, string token, string key, string body, Func<ApiAnswer, bool> done, string because)
    {
        ApiAnswer? answer = null;
        await Eventually.TrueAsync(async () =>
        {
            answer = await api.PostPaymentAsync(token, key, body);
            return done(answer);
        }, TimeSpan.FromSeconds(30), because);
        return answer!;
    }

    public static async Task AssertCapturedOnceAsync(PaymentsApiFixture api, ApiAnswer finished, Guid paymentId, long amount, int pspAttempt)
    {
        Assert.Equal(201, finished.Status);
        Assert.Equal("captured", finished.PaymentStatus);
        Assert.Equal(paymentId, finished.PaymentId);
        Assert.Equal(amount, finished.Json.GetProperty("amount_captured").GetInt64());
        Assert.Equal(1, await api.PaymentIntentCountAsync(paymentId));
        Assert.Equal(pspAttempt, await api.ScalarAsync("SELECT psp_attempt FROM payments WHERE id = @id", ("id", paymentId)));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", paymentId)));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM idempotency_keys WHERE payment_id = @id AND status = 'completed'", ("id", paymentId)));
        await api.AssertBooksBalanceAsync();
    }

    /// <summary>The key now replays the final answer, byte for byte.</summary>
    public static async Task AssertKeyReplaysAsync(PaymentsApiFixture api, string token, string key, string body, ApiAnswer finished)
    {
        var replayed = await api.PostPaymentAsync(token, key, body);
        Assert.Equal(finished.Status, replayed.Status);
        Assert.Equal(finished.Body, replayed.Body);
        Assert.Equal("true", replayed.Headers["Idempotent-Replayed"]);
    }

    public static Task<long> TransitionsByAsync(PaymentsApiFixture api, Guid paymentId, string cause) =>
        api.ScalarAsync("SELECT count(*) FROM payment_transitions WHERE payment_id = @id AND cause = @cause", ("id", paymentId), ("cause", cause));
}

/// <summary>
/// Stripe saves a 500 under the idempotency key and replays it for 24 h, whether or not the charge behind it happened
/// (issue 15). A retry with the same PSP key learns nothing, a new key could charge twice: Payrail searches the PSP by
/// the payment id and creates under a derived key only when nothing is found after the search's freshness window.
/// </summary>
public sealed class PspServerErrorTests(PspServerErrorFixture api) : IClassFixture<PspServerErrorFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => api.PspSim.ResetAsync();

    public Task DisposeAsync() => api.PspSim.ResetAsync();

    [Fact]
    public async Task A_PSP_500_after_the_charge_ends_captured_through_the_search_with_one_PaymentIntent_and_the_key_replays_it()
    {
        var (token, key, body) = PspServerErrorChecks.NewPayment(api, amount: 4_101);
        await api.PspSim.AddFaultAsync("http_500_after_execution", count: 1, pathPrefix: "/v1/payment_intents", method: "POST");

        var first = await api.PostPaymentAsync(token, key, body);

        Assert.Equal(202, first.Status);
        Assert.Equal("processing", first.PaymentStatus);
        Assert.Equal(1, await api.PaymentIntentCountAsync(first.PaymentId)); // charged, though the PSP said 500
        var finished = await PspServerErrorChecks.RetryAsync(api, token, key, body, PspServerErrorChecks.Decided, "a retry after the lease finds the charge");
        await PspServerErrorChecks.AssertCapturedOnceAsync(api, finished, first.PaymentId, 4_101, pspAttempt: 1);
        Assert.True(await PspServerErrorChecks.TransitionsByAsync(api, first.PaymentId, "psp.search") > 0);
        await PspServerErrorChecks.AssertKeyReplaysAsync(api, token, key, body, finished);
    }

    [Fact]
    public async Task A_PSP_500_that_charged_nothing_is_created_once_under_a_derived_key_after_the_search_window()
    {
        var (token, key, body) = PspServerErrorChecks.NewPayment(api, amount: 4_202);
        // The PSP began the create and failed before charging; it replays that 500 for the payment id as PSP key.
        await api.PspSim.AddFaultAsync("http_500_rolled_back", count: 1, pathPrefix: "/v1/payment_intents", method: "POST");

        var first = await api.PostPaymentAsync(token, key, body);

        Assert.Equal(202, first.Status);
        Assert.Equal(0, await api.PaymentIntentCountAsync(first.PaymentId));
        var finished = await PspServerErrorChecks.RetryAsync(api, token, key, body, PspServerErrorChecks.Decided, "a retry after the window creates it");
        await PspServerErrorChecks.AssertCapturedOnceAsync(api, finished, first.PaymentId, 4_202, pspAttempt: 2);
        Assert.Equal(1, await api.ScalarAsync(
            "SELECT count(*) FROM payment_transitions WHERE payment_id = @id AND cause = 'psp.authorize' AND to_status = 'captured'", ("id", first.PaymentId)));
        await PspServerErrorChecks.AssertKeyReplaysAsync(api, token, key, body, finished);
    }
}

/// <summary>The same with a search that lags longer than a lease: retries inside the window must create nothing.</summary>
public sealed class LaggingSearchTests(LaggingSearchFixture api) : IClassFixture<LaggingSearchFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => api.PspSim.ResetAsync();

    public Task DisposeAsync() => api.PspSim.ResetAsync();

    [Fact]
    public async Task While_the_charge_is_invisible_to_search_a_retry_creates_no_second_PaymentIntent()
    {
        var (token, key, body) = PspServerErrorChecks.NewPayment(api, amount: 4_303);
        await api.PspSim.AddFaultAsync("http_500_after_execution", count: 1, pathPrefix: "/v1/payment_intents", method: "POST");

        var first = await api.PostPaymentAsync(token, key, body);
        var since = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(202, first.Status);

        // The first takeover after the lease (~2 s) comes while the charge is still invisible to search (4 s).
        var inWindow = await PspServerErrorChecks.RetryAsync(api, token, key, body, a => a.Status != 409, "a retry after the lease takes over");
        Assert.True(since.ElapsedMilliseconds < LaggingSearchFixture.SearchLagMs, $"took over after {since.ElapsedMilliseconds} ms");
        Assert.Equal(202, inWindow.Status);
        Assert.Equal("processing", inWindow.PaymentStatus);
        Assert.Equal(1, await api.PaymentIntentCountAsync(first.PaymentId));
        Assert.Equal(1, await api.ScalarAsync("SELECT psp_attempt FROM payments WHERE id = @id", ("id", first.PaymentId)));

        var finished = await PspServerErrorChecks.RetryAsync(api, token, key, body, PspServerErrorChecks.Decided, "a retry finds the charge once searchable");
        await PspServerErrorChecks.AssertCapturedOnceAsync(api, finished, first.PaymentId, 4_303, pspAttempt: 1);
        Assert.True(await PspServerErrorChecks.TransitionsByAsync(api, first.PaymentId, "psp.search") > 0);
        await PspServerErrorChecks.AssertKeyReplaysAsync(api, token, key, body, finished);
    }
}

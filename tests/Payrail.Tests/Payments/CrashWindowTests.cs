using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>A one-second lease so that "after the lease" comes quickly; no PSP transport retries so a lost response stays lost.</summary>
public sealed class CrashWindowFixture : PaymentsApiFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Idempotency:LeaseMs", "1000"),
        new("Stripe:MaxNetworkRetries", "0"),
    ];
}

/// <summary>
/// The two windows where a crash could double-charge: after the intent is recorded but before the PSP
/// call, and after the PSP charged but before its answer was recorded. A retry after the lease
/// resumes the same payment with the same PSP idempotency key: one charge, one payment, balanced books.
/// </summary>
public sealed class CrashWindowTests(CrashWindowFixture api) : IClassFixture<CrashWindowFixture>
{
    [Fact]
    public async Task Crash_after_recording_the_intent_is_resumed_by_a_retry_after_the_lease()
    {
        var buyer = "b_" + Guid.NewGuid().ToString("N")[..10];
        var token = api.BuyerToken(buyer);
        var key = Guid.NewGuid().ToString();
        var body = PaymentsApiFixture.Body(amount: 1234);
        var crashes = 0;
        api.CrashPoints.AfterIntentRecorded = _ =>
        {
            Interlocked.Increment(ref crashes);
            throw new InvalidOperationException("simulated crash after transaction 1");
        };
        ApiAnswer crashed;
        try
        {
            crashed = await api.PostPaymentAsync(token, key, body);
        }
        finally
        {
            api.CrashPoints.AfterIntentRecorded = null;
        }

        Assert.Equal(500, crashed.Status);
        Assert.Equal("https://payrail.dev/problems/internal", crashed.ProblemType);
        Assert.DoesNotContain("simulated", crashed.Body);
        Assert.Equal(1, crashes);
        var paymentId = Guid.Parse((await ScalarTextAsync("SELECT id::text FROM payments WHERE buyer_id = @b", buyer))!);
        Assert.Equal("initiated", await ScalarTextAsync("SELECT status FROM payments WHERE buyer_id = @b", buyer));
        Assert.Equal(0, await api.PaymentIntentCountAsync(paymentId));

        var whileLeased = await api.PostPaymentAsync(token, key, body);
        Assert.Equal(409, whileLeased.Status);
        Assert.True(whileLeased.Headers.ContainsKey("Retry-After"));

        var resumed = await RetryUntilNotInFlightAsync(token, key, body);

        Assert.Equal(201, resumed.Status);
        Assert.Equal("captured", resumed.PaymentStatus);
        Assert.Equal(paymentId, resumed.PaymentId);
        await AssertChargedOnceAsync(buyer, paymentId, 1234);
        var replay = await api.PostPaymentAsync(token, key, body);
        Assert.Equal(resumed.Body, replay.Body);
        Assert.Equal("true", replay.Headers["Idempotent-Replayed"]);
    }

    [Fact]
    public async Task Charge_whose_response_was_lost_is_resumed_without_a_second_charge()
    {
        var buyer = "b_" + Guid.NewGuid().ToString("N")[..10];
        var token = api.BuyerToken(buyer);
        var key = Guid.NewGuid().ToString();
        var body = PaymentsApiFixture.Body(amount: 4321);
        await api.PspSim.AddFaultAsync("response_lost", count: 1, pathPrefix: "/v1/payment_intents", method: "POST");

        var lost = await api.PostPaymentAsync(token, key, body);

        Assert.Equal(202, lost.Status);
        Assert.Equal("processing", lost.PaymentStatus);
        var paymentId = lost.PaymentId;
        Assert.Equal(1, await api.PaymentIntentCountAsync(paymentId)); // the PSP did charge
        Assert.Equal("processing", await ScalarTextAsync("SELECT status FROM idempotency_keys WHERE payment_id = @b::uuid", paymentId.ToString()));

        var resumed = await RetryUntilNotInFlightAsync(token, key, body);

        Assert.Equal(201, resumed.Status);
        Assert.Equal("captured", resumed.PaymentStatus);
        Assert.Equal(paymentId, resumed.PaymentId);
        await AssertChargedOnceAsync(buyer, paymentId, 4321);
        Assert.Equal("-initiated,initiated-processing,processing-authorized,authorized-captured",
            await ScalarTextAsync("SELECT string_agg(coalesce(from_status, '') || '-' || to_status, ',' ORDER BY id) FROM payment_transitions WHERE payment_id = @b::uuid", paymentId.ToString()));
    }

    private async Task<ApiAnswer> RetryUntilNotInFlightAsync(string token, string key, string body)
    {
        ApiAnswer? answer = null;
        await Eventually.TrueAsync(async () =>
        {
            answer = await api.PostPaymentAsync(token, key, body);
            return answer.Status != 409;
        }, TimeSpan.FromSeconds(15), "a retry after the lease takes over");
        return answer!;
    }

    private async Task AssertChargedOnceAsync(string buyer, Guid paymentId, long amount)
    {
        Assert.Equal(1, await api.PaymentIntentCountAsync(paymentId));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM payments WHERE buyer_id = @b", ("b", buyer)));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", paymentId)));
        Assert.Equal(amount, await api.ScalarAsync("SELECT debits_posted FROM ledger_account_totals WHERE owner = @o", ("o", "buyer:" + buyer)));
        Assert.Equal("completed", await ScalarTextAsync("SELECT status FROM idempotency_keys WHERE payment_id = @b::uuid", paymentId.ToString()));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM outbox WHERE aggregate_id = @id AND event_type = 'payment.completed'", ("id", paymentId)));
        await api.AssertBooksBalanceAsync();
    }

    private async Task<string?> ScalarTextAsync(string sql, string value)
    {
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("b", value);
        return (string?)await command.ExecuteScalarAsync();
    }
}

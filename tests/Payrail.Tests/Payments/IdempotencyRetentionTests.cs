using System.Net.Http.Headers;
using System.Text.Json;
using StackExchange.Redis;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>
/// A one-second lease and no PSP transport retries (a lost response stays lost), and a class of its own:
/// these tests move the service's clock by days and count every PaymentIntent pspsim holds.
/// </summary>
public sealed class IdempotencyRetentionFixture : PaymentsApiFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Idempotency:LeaseMs", "1000"),
        new("Stripe:MaxNetworkRetries", "0"),
    ];
}

/// <summary>
/// Retention (Idempotency:RetentionHours, 24 h by default) forgets a key only once its payment has a final answer,
/// counted from that answer: a key whose payment the PSP may still have charged is resumed, whatever its age.
/// </summary>
public sealed class IdempotencyRetentionTests(IdempotencyRetentionFixture api) : IClassFixture<IdempotencyRetentionFixture>
{
    private static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    [Fact]
    public async Task A_key_whose_payment_is_still_processing_is_never_forgotten_and_a_retry_resumes_the_same_payment()
    {
        var buyer = "b_" + Guid.NewGuid().ToString("N")[..10];
        var token = api.BuyerToken(buyer);
        var key = Guid.NewGuid().ToString();
        var body = PaymentsApiFixture.Body(amount: 2718);
        var intentsBefore = await PaymentIntentsAtPspAsync();
        // The PSP charges but both its first answer and the first resumed answer are lost: the outcome stays unknown.
        await api.PspSim.AddFaultAsync("response_lost", count: 2, pathPrefix: "/v1/payment_intents", method: "POST");
        var lost = await api.PostPaymentAsync(token, key, body);
        Assert.Equal(202, lost.Status);
        var paymentId = lost.PaymentId;

        try
        {
            // Past the retention and the lease. Redis drops the key by its own TTL (EX 86400); here by hand.
            api.Clock.Offset = Retention + TimeSpan.FromHours(1);
            await ForgetInRedisAsync(buyer, key);
            var resumedUnknown = await api.PostPaymentAsync(token, key, body);

            Assert.Equal(202, resumedUnknown.Status);
            Assert.Equal(paymentId, resumedUnknown.PaymentId);
            Assert.Equal("processing", await KeyStatusAsync(paymentId));
            // The takeover extended the key's retention from now, not from its first claim.
            Assert.True(await KeyExpiresAtAsync(paymentId) >= api.Clock.GetUtcNow() + Retention - TimeSpan.FromMinutes(1),
                "a takeover pushes the key's expiry to now + retention");

            api.Clock.Offset += Retention; // the key is now two retention periods old, still processing
            await ForgetInRedisAsync(buyer, key);
            var resumed = await api.PostPaymentAsync(token, key, body);

            Assert.Equal(201, resumed.Status);
            Assert.Equal("captured", resumed.PaymentStatus);
            Assert.Equal(paymentId, resumed.PaymentId);
            Assert.Equal(1, await api.PaymentIntentCountAsync(paymentId));
            Assert.Equal(intentsBefore + 1, await PaymentIntentsAtPspAsync());
            Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM payments WHERE buyer_id = @b", ("b", buyer)));
            Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", paymentId)));
            Assert.Equal(2718, await api.ScalarAsync("SELECT debits_posted FROM ledger_account_totals WHERE owner = @o", ("o", "buyer:" + buyer)));
            Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM outbox WHERE aggregate_id = @id AND event_type = 'payment.completed'", ("id", paymentId)));
            Assert.Equal("completed", await KeyStatusAsync(paymentId));
            await api.AssertBooksBalanceAsync();
        }
        finally
        {
            api.Clock.Offset = TimeSpan.Zero;
            await api.PspSim.ResetAsync();
        }
    }

    [Fact]
    public async Task A_key_claimed_long_ago_and_completed_now_is_kept_for_the_retention_after_its_completion()
    {
        var buyer = "b_" + Guid.NewGuid().ToString("N")[..10];
        var token = api.BuyerToken(buyer);
        var key = Guid.NewGuid().ToString();
        var body = PaymentsApiFixture.Body(amount: 3141);
        // Between the claim (transaction 1) and the completion (transaction 2) a day and more passes.
        api.CrashPoints.AfterIntentRecorded = _ =>
        {
            api.Clock.Offset = Retention + TimeSpan.FromHours(1);
            return Task.CompletedTask;
        };
        try
        {
            var first = await api.PostPaymentAsync(token, key, body);
            api.CrashPoints.AfterIntentRecorded = null;
            Assert.Equal(201, first.Status);

            api.Clock.Offset += TimeSpan.FromHours(1); // past retention counted from the claim, within it from the completion
            await ForgetInRedisAsync(buyer, key);
            var replay = await api.PostPaymentAsync(token, key, body);

            Assert.Equal(201, replay.Status);
            Assert.Equal("true", replay.Headers.GetValueOrDefault("Idempotent-Replayed"));
            Assert.Equal(first.Body, replay.Body);

            api.Clock.Offset += Retention; // past retention counted from the completion: forgotten, a new request
            await ForgetInRedisAsync(buyer, key);
            var again = await api.PostPaymentAsync(token, key, body);

            Assert.Equal(201, again.Status);
            Assert.False(again.Headers.ContainsKey("Idempotent-Replayed"));
            Assert.NotEqual(first.PaymentId, again.PaymentId);
        }
        finally
        {
            api.CrashPoints.AfterIntentRecorded = null;
            api.Clock.Offset = TimeSpan.Zero;
        }
    }

    private async Task ForgetInRedisAsync(string buyer, string key)
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync(api.Redis.Configuration);
        await redis.GetDatabase().KeyDeleteAsync($"idem:buyer:{buyer}:POST /v1/payments:{key}");
    }

    private async Task<string?> KeyStatusAsync(Guid paymentId)
    {
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT status FROM idempotency_keys WHERE payment_id = @id", connection);
        command.Parameters.AddWithValue("id", paymentId);
        return (string?)await command.ExecuteScalarAsync();
    }

    private async Task<DateTimeOffset> KeyExpiresAtAsync(Guid paymentId)
    {
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT expires_at FROM idempotency_keys WHERE payment_id = @id", connection);
        command.Parameters.AddWithValue("id", paymentId);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return reader.GetFieldValue<DateTimeOffset>(0);
    }

    /// <summary>Every PaymentIntent this class's pspsim holds, whatever payment it was made for.</summary>
    private async Task<int> PaymentIntentsAtPspAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri(api.PspSim.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", api.PspSim.ApiKey);
        var count = 0;
        string? startingAfter = null;
        for (var page = 0; page < 100; page++)
        {
            var url = "/v1/payment_intents?limit=100" + (startingAfter is null ? "" : "&starting_after=" + startingAfter);
            using var list = JsonDocument.Parse(await http.GetStringAsync(url));
            foreach (var intent in list.RootElement.GetProperty("data").EnumerateArray())
            {
                count++;
                startingAfter = intent.GetProperty("id").GetString();
            }
            if (!list.RootElement.GetProperty("has_more").GetBoolean()) break;
        }
        return count;
    }
}

using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>A short synchronous budget and lease, so a slow PSP outruns the budget quickly.</summary>
public sealed class SyncBudgetFixture : PaymentsApiFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Payments:SyncBudgetMs", "300"),
        new("Idempotency:LeaseMs", "1000"),
    ];
}

/// <summary>DESIGN.md step 7: a PSP that has not decided within the synchronous budget leaves the payment processing (202).</summary>
public sealed class SyncBudgetTests(SyncBudgetFixture api) : IClassFixture<SyncBudgetFixture>
{
    [Fact]
    public async Task A_PSP_slower_than_the_budget_gets_202_processing_and_a_later_retry_finishes_with_one_charge()
    {
        var buyer = "b_" + Guid.NewGuid().ToString("N")[..10];
        var token = api.BuyerToken(buyer);
        var key = Guid.NewGuid().ToString();
        var body = PaymentsApiFixture.Body(amount: 888);
        await api.PspSim.SetLatencyAsync(1_500);
        ApiAnswer slow;
        try
        {
            slow = await api.PostPaymentAsync(token, key, body);
        }
        finally
        {
            await api.PspSim.ResetAsync();
        }

        Assert.Equal(202, slow.Status);
        Assert.Equal("processing", slow.PaymentStatus);
        Assert.Equal("processing", await Text("SELECT status FROM payments WHERE id = @id", slow.PaymentId));
        Assert.Equal("processing", await Text("SELECT status FROM idempotency_keys WHERE payment_id = @id", slow.PaymentId));
        Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", slow.PaymentId)));

        ApiAnswer? finished = null;
        await Eventually.TrueAsync(async () =>
        {
            finished = await api.PostPaymentAsync(token, key, body);
            return finished.Status != 409;
        }, TimeSpan.FromSeconds(15), "a retry after the lease resumes the payment");

        Assert.Equal(201, finished!.Status);
        Assert.Equal(slow.PaymentId, finished.PaymentId);
        Assert.Equal("captured", finished.PaymentStatus);
        await Eventually.TrueAsync(async () => await api.PaymentIntentCountAsync(slow.PaymentId) == 1, TimeSpan.FromSeconds(5),
            "the abandoned first PSP call and the resumed one made one PaymentIntent together");
        Assert.Equal(1, await api.PaymentIntentCountAsync(slow.PaymentId));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", slow.PaymentId)));
    }

    [Fact]
    public async Task A_payment_waiting_for_3DS_answers_202_processing_and_is_replayed_as_such()
    {
        var token = api.BuyerToken("b_" + Guid.NewGuid().ToString("N")[..10]);
        var key = Guid.NewGuid().ToString();
        var body = PaymentsApiFixture.Body(paymentMethod: "pm_card_threeDSecure2Required");

        var first = await api.PostPaymentAsync(token, key, body);
        var replay = await api.PostPaymentAsync(token, key, body);

        Assert.Equal(202, first.Status);
        Assert.Equal("processing", first.PaymentStatus);
        Assert.StartsWith("pi_", first.Json.GetProperty("psp_reference").GetString());
        Assert.Equal(202, replay.Status);
        Assert.Equal(first.Body, replay.Body);
        Assert.Equal("true", replay.Headers["Idempotent-Replayed"]);
    }

    private async Task<string?> Text(string sql, Guid id)
    {
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("id", id);
        return (string?)await command.ExecuteScalarAsync();
    }
}

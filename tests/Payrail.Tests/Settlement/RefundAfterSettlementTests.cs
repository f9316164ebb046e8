using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Npgsql;
using Payrail.Api;
using Payrail.Auth;
using Payrail.Settlement;
using Payrail.Tests.Payments;
using Xunit;

namespace Payrail.Tests.Settlement;

/// <summary>
/// A refund of a settled payment through <c>POST /v1/payments/{id}/refunds</c>: it draws on the merchant's payable balance
/// (captures − refunds − fees), the payment stays SETTLED (REFUNDED when full), and a merchant whose payable may not go
/// negative gets a clean 409 for a refund above it: no refund row, no transfer, no PSP refund.
/// </summary>
public sealed class RefundAfterSettlementTests(SettlementFixture api) : IClassFixture<SettlementFixture>
{
    [Fact]
    public async Task A_partial_then_a_full_refund_of_a_settled_payment_lower_the_payable_balance_and_keep_it_settled_until_refunded()
    {
        var merchant = await CreateMerchantAsync(payableMayGoNegative: false);
        var (paymentId, _) = await api.CapturedPaymentAsync(amount: 3_000, merchantId: merchant);
        // A second payment of the merchant that stays unsettled, so the payable has room for the whole refund.
        await api.CapturedPaymentAsync(amount: 5_000, merchantId: merchant);
        await api.PassPayoutDelayAsync();
        await api.SettleAsync();
        Assert.Equal("settled", await api.StatusAsync(paymentId));
        var before = await PayableAsync(merchant);

        var partial = await RefundAsync(paymentId, merchant, new { amount = 1_000 });

        Assert.Equal((201, "succeeded"), (partial.Status, partial.Json.GetProperty("status").GetString()));
        var payment = await PaymentAsync(paymentId, merchant);
        Assert.Equal(("settled", 1_000L), (payment.GetProperty("status").GetString(), payment.GetProperty("amount_refunded").GetInt64()));
        Assert.Equal(before - 1_000, await PayableAsync(merchant));
        Assert.Empty(await api.VerifyLedgerAsync());

        var rest = await RefundAsync(paymentId, merchant, new { });

        Assert.Equal((201, 2_000L), (rest.Status, rest.Json.GetProperty("amount").GetInt64()));
        payment = await PaymentAsync(paymentId, merchant);
        Assert.Equal(("refunded", 3_000L), (payment.GetProperty("status").GetString(), payment.GetProperty("amount_refunded").GetInt64()));
        Assert.Equal(before - 3_000, await PayableAsync(merchant));
        Assert.Empty(await api.VerifyLedgerAsync());
    }

    [Fact]
    public async Task A_refund_above_a_strict_merchants_payable_balance_is_refused_with_a_problem_and_nothing_written_or_sent()
    {
        var merchant = await CreateMerchantAsync(payableMayGoNegative: false);
        var (paymentId, reference) = await api.CapturedPaymentAsync(amount: 3_000, merchantId: merchant);
        await api.PassPayoutDelayAsync();
        await api.SettleAsync();
        Assert.Equal("settled", await api.StatusAsync(paymentId));
        var payable = await PayableAsync(merchant);
        Assert.InRange(payable, 1, 2_999); // 3,000 less the fee
        var transfers = (await api.TransfersAsync(paymentId)).Count;

        var refused = await RefundAsync(paymentId, merchant, new { });

        Assert.Equal((409, Problems.RefundExceedsPayableBalance), (refused.Status, refused.ProblemType));
        Assert.Equal("application/problem+json", refused.ContentType);
        Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM refunds WHERE payment_id = @id", ("id", paymentId)));
        Assert.Equal(transfers, (await api.TransfersAsync(paymentId)).Count);
        Assert.Equal(0, await PspRefundCountAsync(reference));
        var payment = await PaymentAsync(paymentId, merchant);
        Assert.Equal(("settled", 0L), (payment.GetProperty("status").GetString(), payment.GetProperty("amount_refunded").GetInt64()));
        Assert.Equal(payable, await PayableAsync(merchant));
        Assert.Empty(await api.VerifyLedgerAsync());

        // What the payable holds can still be refunded.
        var within = await RefundAsync(paymentId, merchant, new { amount = payable });
        Assert.Equal((201, "succeeded"), (within.Status, within.Json.GetProperty("status").GetString()));
        Assert.Equal(0, await PayableAsync(merchant));
        Assert.Empty(await api.VerifyLedgerAsync());
    }

    [Fact]
    public async Task A_manual_payment_captured_in_part_settles_for_what_was_captured_and_is_refunded_in_full_after()
    {
        var merchant = await CreateMerchantAsync(payableMayGoNegative: true);
        var created = await api.PostPaymentAsync(api.BuyerToken("b_" + Guid.NewGuid().ToString("N")[..10]), Guid.NewGuid().ToString(),
            PaymentsApiFixture.Body(amount: 5_000, capture: "manual", merchantId: merchant));
        Assert.Equal((201, "authorized"), (created.Status, created.PaymentStatus));
        var paymentId = created.PaymentId;
        var captured = await PostAsync($"/v1/payments/{paymentId}/capture", merchant, new { amount = 3_000 });
        Assert.Equal((200, "captured"), (captured.Status, captured.PaymentStatus));
        await api.PassPayoutDelayAsync();

        await api.SettleAsync();

        Assert.Equal("settled", await api.StatusAsync(paymentId));
        var line = await api.ChargeLineAsync(created.Json.GetProperty("psp_reference").GetString()!);
        Assert.Equal(3_000L, line.Amount);
        Assert.Empty(await api.VerifyLedgerAsync());
        var refund = await RefundAsync(paymentId, merchant, new { });
        Assert.Equal((201, 3_000L), (refund.Status, refund.Json.GetProperty("amount").GetInt64()));
        Assert.Equal("refunded", (await PaymentAsync(paymentId, merchant)).GetProperty("status").GetString());
        Assert.EndsWith("authorized-captured,captured-settled,settled-refunded", await api.TransitionsAsync(paymentId));
        Assert.Empty(await api.VerifyLedgerAsync());
    }

    private Task<Payments.ApiAnswer> RefundAsync(Guid paymentId, string merchant, object body) =>
        PostAsync($"/v1/payments/{paymentId}/refunds", merchant, body);

    private async Task<Payments.ApiAnswer> PostAsync(string path, string merchant, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", api.Token(Roles.Merchant, "u_" + merchant, merchant));
        request.Headers.TryAddWithoutValidation("Idempotency-Key", Guid.NewGuid().ToString());
        using var response = await api.Http.SendAsync(request);
        return await Payments.ApiAnswer.ReadAsync(response);
    }

    private async Task<JsonElement> PaymentAsync(Guid paymentId, string merchant) =>
        (await api.GetAsync($"/v1/payments/{paymentId}", api.Token(Roles.Merchant, "u_" + merchant, merchant))).Json;

    private async Task<long> PayableAsync(string merchant)
    {
        await using var connection = await api.Postgres.OpenAsync();
        return Assert.Single(await MerchantBalances.ReadAsync(connection, merchant, CancellationToken.None)).PayableMinor;
    }

    private async Task<int> PspRefundCountAsync(string paymentIntent)
    {
        using var http = new HttpClient { BaseAddress = new Uri(api.PspSim.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", api.PspSim.ApiKey);
        using var list = JsonDocument.Parse(await http.GetStringAsync($"/v1/refunds?limit=100&payment_intent={paymentIntent}"));
        return list.RootElement.GetProperty("data").GetArrayLength();
    }

    private async Task<string> CreateMerchantAsync(bool payableMayGoNegative)
    {
        var id = "m_ras_" + Guid.NewGuid().ToString("N")[..8];
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new NpgsqlCommand("INSERT INTO merchants (id, name, payable_may_go_negative) VALUES (@id, 'Refund after settlement', @negative)", connection);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("negative", payableMayGoNegative);
        await command.ExecuteNonQueryAsync();
        return id;
    }
}

using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Payrail.Auth;
using Payrail.Payments;
using Payrail.Psp;
using Payrail.Refunds;
using Payrail.Testing;
using Payrail.Tests.Payments;
using Payrail.Webhooks;
using Xunit;

namespace Payrail.Tests.Refunds;

/// <summary>
/// The payment service with a webhook secret (refund events are delivered by the test, signed), short idempotency leases
/// (a lost answer is retried within seconds) and pspsim whose asynchronous refunds wait for the test to settle them.
/// </summary>
public class RefundsFixture : PaymentsApiFixture
{
    public const string Secret = "whsec_refunds_test";

    public RefundsFixture() => PspSim.ExtraArgs.Add("--PspSim:AsyncRefundDelaySeconds=86400");

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Stripe:WebhookSecrets:0", Secret),
        new("Idempotency:LeaseMs", "1500"),
        new("Refunds:SweepAfterMs", "0"),
        new("Refunds:SweepRecheckMs", "0"),
    ];

    public SignedWebhooks Webhooks() => new(PspSim, BaseUrl + WebhookEndpoints.StripeRoute, Secret);

    public string MerchantToken() => Token(Roles.Merchant, "u_refunds", MerchantId);

    /// <summary>A captured (automatic capture) payment of a fresh buyer: its id and PaymentIntent.</summary>
    public async Task<(Guid Id, string PaymentIntent)> CapturedPaymentAsync(long amount = 1_000, string paymentMethod = "pm_card_visa", string currency = "USD")
    {
        var answer = await PostPaymentAsync(BuyerToken("b_" + Guid.NewGuid().ToString("N")[..10]), Guid.NewGuid().ToString(),
            Body(amount: amount, currency: currency, paymentMethod: paymentMethod));
        Assert.Equal((201, "captured"), (answer.Status, answer.PaymentStatus));
        return (answer.PaymentId, answer.Json.GetProperty("psp_reference").GetString()!);
    }

    public async Task<ApiAnswer> RefundAsync(Guid paymentId, object? body = null, string? key = null, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/payments/{paymentId}/refunds")
        {
            Content = new StringContent(body is string text ? text : JsonSerializer.Serialize(body ?? new { }), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token ?? MerchantToken());
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key ?? Guid.NewGuid().ToString());
        using var response = await Http.SendAsync(request);
        return await ApiAnswer.ReadAsync(response);
    }

    public async Task<JsonElement> PaymentAsync(Guid paymentId) => (await GetAsync($"/v1/payments/{paymentId}", MerchantToken())).Json;

    /// <summary>pspsim's refunds of a PaymentIntent (newest first): what the PSP holds, whatever Payrail recorded.</summary>
    public async Task<IReadOnlyList<(string Id, long Amount, string Status)>> PspRefundsAsync(string paymentIntent)
    {
        using var http = new HttpClient { BaseAddress = new Uri(PspSim.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", PspSim.ApiKey);
        using var list = JsonDocument.Parse(await http.GetStringAsync($"/v1/refunds?limit=100&payment_intent={paymentIntent}"));
        Assert.False(list.RootElement.GetProperty("has_more").GetBoolean());
        return [.. list.RootElement.GetProperty("data").EnumerateArray().Select(r =>
            (r.GetProperty("id").GetString()!, r.GetProperty("amount").GetInt64(), r.GetProperty("status").GetString()!))];
    }

    /// <summary>The sweeper's refund step, run once against this service's database and PSP.</summary>
    public Task<int> SweepRefundsAsync() => new PendingRefundCheck(Services.GetRequiredService<RefundStore>(), Services.GetRequiredService<PaymentStore>(),
        Services.GetRequiredService<RefundTransitions>(), Services.GetRequiredService<IPspConnector>(), Services.GetRequiredService<IOptions<RefundsOptions>>(),
        TimeProvider.System, NullLogger<PendingRefundCheck>.Instance).RunOnceAsync(CancellationToken.None);

    /// <summary>
    /// Every book agrees about one payment: our refunded amount = the succeeded refund rows = the PSP's counted refunds =
    /// the ledger's refund transfers less their failures; the pending reservation = the pending rows; the status is
    /// REFUNDED exactly when everything captured is refunded; one PSP refund per refund row it knows; the ledger verifies.
    /// </summary>
    public async Task AssertRefundBooksAgreeAsync(Guid paymentId, string paymentIntent)
    {
        var captured = await ScalarAsync("SELECT amount_captured_minor FROM payments WHERE id = @id", ("id", paymentId));
        var refunded = await ScalarAsync("SELECT amount_refunded_minor FROM payments WHERE id = @id", ("id", paymentId));
        var pending = await ScalarAsync("SELECT amount_refund_pending_minor FROM payments WHERE id = @id", ("id", paymentId));
        var status = await TextAsync("SELECT status FROM payments WHERE id = @id", paymentId);
        Assert.Equal(refunded, await ScalarAsync("SELECT coalesce(sum(amount_minor), 0) FROM refunds WHERE payment_id = @id AND status = 'succeeded'", ("id", paymentId)));
        Assert.Equal(pending, await ScalarAsync("SELECT coalesce(sum(amount_minor), 0) FROM refunds WHERE payment_id = @id AND status = 'pending'", ("id", paymentId)));
        Assert.InRange(refunded + pending, 0, captured);
        Assert.Equal(refunded == captured, status == "refunded");
        var psp = await PspRefundsAsync(paymentIntent);
        Assert.Equal(psp.Count, await ScalarAsync("SELECT count(*) FROM refunds WHERE payment_id = @id AND psp_refund_id IS NOT NULL", ("id", paymentId)));
        Assert.Equal(psp.Where(r => r.Status == "succeeded").Sum(r => r.Amount), refunded);
        Assert.InRange(psp.Where(r => r.Status is "succeeded" or "pending").Sum(r => r.Amount), 0, captured);
        var refundTransfers = await ScalarAsync("""
            SELECT coalesce(sum(CASE WHEN d.owner LIKE 'merchant:%' THEN t.amount_minor ELSE -t.amount_minor END), 0)
            FROM ledger_transfers t JOIN ledger_accounts d ON d.id = t.debit_account_id
            WHERE t.payment_id = @id AND t.kind IN ('posted', 'post_pending')
            """, ("id", paymentId));
        // Posted transfers: the purchase (buyer → merchant, counted negative here), refunds (their holds posted, merchant →
        // buyer), failures (buyer → merchant). Pending refunds hold their amount: unresolved pending transfers merchant → buyer.
        Assert.Equal(refunded - captured, refundTransfers);
        var held = await ScalarAsync("""
            SELECT coalesce(sum(t.amount_minor), 0) FROM ledger_transfers t JOIN ledger_accounts d ON d.id = t.debit_account_id
            WHERE t.payment_id = @id AND t.kind = 'pending' AND d.owner LIKE 'merchant:%'
              AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)
            """, ("id", paymentId));
        Assert.Equal(pending, held);
        await AssertBooksBalanceAsync();
    }

    public static string Amount(long minor) => minor.ToString(CultureInfo.InvariantCulture);
}

using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Api;
using Payrail.Auth;
using Payrail.Payments;
using Payrail.Psp;
using Payrail.Refunds;
using Payrail.Settlement;
using Xunit;

namespace Payrail.Tests.Settlement;

/// <summary>
/// A refund holds its amount in the ledger (a pending transfer merchant → buyer) in the batch that reserves it, so a strict
/// merchant's payable (debits_must_not_exceed_credits) is checked atomically across all its refunds before the PSP is
/// asked; and settlement posts a PSP fee even when the payable is held whole by pending refunds, or was refunded in
/// full before settlement (a fact at the PSP).
/// </summary>
public sealed class RefundHoldTests(SettlementFixture api) : IClassFixture<SettlementFixture>
{
    [Fact]
    public async Task Refunds_of_two_payments_racing_for_a_strict_merchants_last_payable_pass_once_at_the_PSP_and_in_the_ledger()
    {
        const int Rounds = 10;
        const long Amount = 3_000;
        // Two settled payments per strict merchant: its payable is 6,000 less two fees, so either full refund fits alone
        // and the two together never do.
        var rounds = new List<(string Merchant, (Guid Id, string Intent) A, (Guid Id, string Intent) B)>();
        for (var i = 0; i < Rounds; i++)
        {
            var merchant = await CreateMerchantAsync(payableMayGoNegative: false);
            rounds.Add((merchant, await api.CapturedPaymentAsync(Amount, merchantId: merchant), await api.CapturedPaymentAsync(Amount, merchantId: merchant)));
        }
        await api.PassPayoutDelayAsync();
        await api.SettleAsync();

        await Task.WhenAll(rounds.Select(async round =>
        {
            var payable = await PayableAsync(round.Merchant);
            Assert.InRange(payable, Amount, 2 * Amount - 1);

            var answers = await Task.WhenAll(RefundAsync(round.A.Id, round.Merchant, new { }), RefundAsync(round.B.Id, round.Merchant, new { }));

            Assert.Equal([201, 409], answers.Select(a => a.Status).Order());
            Assert.Equal("succeeded", answers.Single(a => a.Status == 201).Json.GetProperty("status").GetString());
            Assert.Equal(Problems.RefundExceedsPayableBalance, answers.Single(a => a.Status == 409).ProblemType);
            Assert.Equal(1, await PspRefundCountAsync(round.A.Intent) + await PspRefundCountAsync(round.B.Intent));
            Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM refunds WHERE merchant_id = @m", ("m", round.Merchant)));
            Assert.Equal(payable - Amount, await PayableAsync(round.Merchant));
            Assert.Equal(0, await HeldByRefundsAsync(round.Merchant));
        }));
        Assert.Empty(await api.VerifyLedgerAsync());
    }

    [Fact]
    public async Task A_strict_merchants_fee_is_posted_at_settlement_while_a_pending_refund_holds_its_whole_payable()
    {
        const long Amount = 3_000;
        var merchant = await CreateMerchantAsync(payableMayGoNegative: false);
        var (paymentId, _) = await api.CapturedPaymentAsync(Amount, merchantId: merchant, paymentMethod: "pm_card_pendingRefund");
        var refund = await RefundAsync(paymentId, merchant, new { });
        Assert.Equal((201, "pending"), (refund.Status, refund.Json.GetProperty("status").GetString()));
        Assert.Equal((0L, Amount), (await PayableAsync(merchant) - Amount, await HeldByRefundsAsync(merchant)));
        await api.PassPayoutDelayAsync();

        await api.SettleAsync();

        Assert.Equal("settled", await api.StatusAsync(paymentId));
        var fee = Assert.Single(await api.TransfersAsync(paymentId), t => t.Credit.StartsWith("fees:", StringComparison.Ordinal)).Amount;
        Assert.InRange(fee, 1, Amount - 1);
        Assert.Equal(Amount - fee, await PayableAsync(merchant));
        Assert.Empty(await api.VerifyLedgerAsync());

        // pspsim's clock passed the refund's delay: the PSP made it. Its hold still posts, though the fee took the room:
        // the merchant's payable goes below zero by the fee alone.
        Assert.Equal(1, await SweepRefundsAsync());
        Assert.Equal("refunded", await api.StatusAsync(paymentId));
        Assert.Equal((-fee, 0L), (await PayableAsync(merchant), await HeldByRefundsAsync(merchant)));
        Assert.Empty(await api.VerifyLedgerAsync());

        // And no refund can draw on that overdraft.
        var (other, _) = await api.CapturedPaymentAsync(1_000, merchantId: merchant);
        var refused = await RefundAsync(other, merchant, new { });
        Assert.Equal((409, Problems.RefundExceedsPayableBalance), (refused.Status, refused.ProblemType));
        Assert.Empty(await api.VerifyLedgerAsync());
    }

    [Fact]
    public async Task A_payment_refunded_in_full_before_settlement_has_its_fee_posted_once_and_stays_refunded()
    {
        const long Amount = 3_000;
        var merchant = await CreateMerchantAsync(payableMayGoNegative: false);
        var (paymentId, reference) = await api.CapturedPaymentAsync(Amount, merchantId: merchant);
        var refund = await RefundAsync(paymentId, merchant, new { });
        Assert.Equal((201, "succeeded"), (refund.Status, refund.Json.GetProperty("status").GetString()));
        Assert.Equal("refunded", await api.StatusAsync(paymentId));
        await api.PassPayoutDelayAsync();

        await api.SettleAsync();

        Assert.Equal("refunded", await api.StatusAsync(paymentId));
        var line = await api.ChargeLineAsync(reference);
        var transfers = await api.TransfersAsync(paymentId);
        var fee = Assert.Single(transfers, t => t.Credit.StartsWith("fees:", StringComparison.Ordinal));
        Assert.Equal(("merchant:" + merchant, line.Fee), (fee.Debit, fee.Amount));
        Assert.Equal(line.Net, Assert.Single(transfers, t => t.Credit.StartsWith("cash:", StringComparison.Ordinal)).Amount);
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM payment_settlements WHERE payment_id = @id AND fee_minor = @fee",
            ("id", paymentId), ("fee", line.Fee)));
        Assert.Equal(-line.Fee, await PayableAsync(merchant));
        Assert.Empty(await api.VerifyLedgerAsync());

        await api.SettleAsync();

        Assert.Equal(transfers.Count, (await api.TransfersAsync(paymentId)).Count);
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM payment_settlements WHERE payment_id = @id", ("id", paymentId)));
        Assert.Equal("refunded", await api.StatusAsync(paymentId));
        Assert.Empty(await api.VerifyLedgerAsync());
    }

    [Fact]
    public async Task A_payment_settled_while_refunded_whose_refund_came_back_settles_later_without_posting_again()
    {
        var merchant = await CreateMerchantAsync(payableMayGoNegative: false);
        var (paymentId, _) = await api.CapturedPaymentAsync(3_000, merchantId: merchant, paymentMethod: "pm_card_refundFail");
        var refund = await RefundAsync(paymentId, merchant, new { });
        Assert.Equal((201, "succeeded"), (refund.Status, refund.Json.GetProperty("status").GetString()));
        await api.PassPayoutDelayAsync(); // pspsim's clock passes the refund's delay too: the bank sends it back
        await api.SettleAsync();
        Assert.Equal("refunded", await api.StatusAsync(paymentId));

        // The refund_failure, applied as its webhook or the catch-up would: the payment is CAPTURED again, its settlement recorded.
        var answer = await api.Services.GetRequiredService<IPspConnector>()
            .RetrieveRefundAsync(refund.Json.GetProperty("psp_reference").GetString()!, CancellationToken.None);
        Assert.Equal(PspRefundStatus.Failed, answer!.Status);
        var reversed = await api.Services.GetRequiredService<RefundTransitions>()
            .ApplyAsync(Guid.Parse(refund.Json.GetProperty("id").GetString()!), answer, "test.refund_failure");
        Assert.Equal(RefundResultKind.Applied, reversed.Kind);
        Assert.Equal("captured", await api.StatusAsync(paymentId));
        var transfers = (await api.TransfersAsync(paymentId)).Count;

        await api.SettleAsync();

        Assert.Equal("settled", await api.StatusAsync(paymentId));
        Assert.Equal(transfers, (await api.TransfersAsync(paymentId)).Count);
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM payment_settlements WHERE payment_id = @id", ("id", paymentId)));
        Assert.Empty(await api.VerifyLedgerAsync());
    }

    private Task<int> SweepRefundsAsync() => new PendingRefundCheck(api.Services.GetRequiredService<RefundStore>(),
        api.Services.GetRequiredService<PaymentStore>(), api.Services.GetRequiredService<RefundTransitions>(),
        api.Services.GetRequiredService<IPspConnector>(), Options.Create(new RefundsOptions { SweepAfterMs = 0, SweepRecheckMs = 0 }),
        TimeProvider.System, NullLogger<PendingRefundCheck>.Instance).RunOnceAsync(CancellationToken.None);

    private async Task<Payments.ApiAnswer> RefundAsync(Guid paymentId, string merchant, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/payments/{paymentId}/refunds")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", api.Token(Roles.Merchant, "u_" + merchant, merchant));
        request.Headers.TryAddWithoutValidation("Idempotency-Key", Guid.NewGuid().ToString());
        using var response = await api.Http.SendAsync(request);
        return await Payments.ApiAnswer.ReadAsync(response);
    }

    private async Task<long> PayableAsync(string merchant)
    {
        await using var connection = await api.Postgres.OpenAsync();
        return Assert.Single(await MerchantBalances.ReadAsync(connection, merchant, CancellationToken.None)).PayableMinor;
    }

    /// <summary>What refund holds take from the merchant's account: its debits_pending.</summary>
    private Task<long> HeldByRefundsAsync(string merchant) => api.ScalarAsync(
        "SELECT debits_pending FROM ledger_account_totals WHERE owner = @owner", ("owner", "merchant:" + merchant));

    private async Task<int> PspRefundCountAsync(string paymentIntent)
    {
        using var http = new HttpClient { BaseAddress = new Uri(api.PspSim.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", api.PspSim.ApiKey);
        using var list = JsonDocument.Parse(await http.GetStringAsync($"/v1/refunds?limit=100&payment_intent={paymentIntent}"));
        return list.RootElement.GetProperty("data").GetArrayLength();
    }

    private async Task<string> CreateMerchantAsync(bool payableMayGoNegative)
    {
        var id = "m_hold_" + Guid.NewGuid().ToString("N")[..8];
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new NpgsqlCommand("INSERT INTO merchants (id, name, payable_may_go_negative) VALUES (@id, 'Refund hold', @negative)", connection);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("negative", payableMayGoNegative);
        await command.ExecuteNonQueryAsync();
        return id;
    }
}

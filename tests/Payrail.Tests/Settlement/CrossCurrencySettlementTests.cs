using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Payrail.Api;
using Payrail.Domain.Ledger;
using Payrail.Domain.Refunds;
using Payrail.Psp;
using Payrail.Refunds;
using Payrail.Settlement;
using Xunit;

namespace Payrail.Tests.Settlement;

/// <summary>
/// A EUR payment of a merchant the PSP settles in USD (pspsim books EUR at its fixed rate), with refunds: the books
/// follow the PSP's balance transactions, the charge's and each refund's (and each refund failure's) converted at the
/// amount the PSP booked in USD, so the merchant's EUR balance ends at zero for the payment and its USD balance holds
/// what the PSP kept. For merchants whose payable may go negative and for those whose may not; `ledger verify` clean,
/// `payrail balances` right, and a re-run posts nothing.
/// </summary>
public sealed class CrossCurrencySettlementTests(SettlementFixture api) : IClassFixture<SettlementFixture>
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_partially_refunded_EUR_payment_settles_in_USD_with_its_refund_converted_as_the_PSP_booked_it(bool payableMayGoNegative)
    {
        var merchant = await api.CreateMerchantAsync(payableMayGoNegative);
        var (paymentId, reference) = await api.CapturedPaymentAsync(3_000, "EUR", merchant);
        Assert.Equal(201, (await api.RefundAsync(paymentId, merchant, new { amount = 1_500 })).Status);
        await api.PassPayoutDelayAsync();

        await api.SettleAsync();

        Assert.Equal("settled", await api.StatusAsync(paymentId));
        var charge = await api.ChargeLineAsync(reference);
        var refund = Assert.Single(await api.RefundLinesAsync(reference));
        Assert.Equal(("usd", "usd"), (charge.Currency, refund.Currency));
        var balances = await api.BalancesAsync(merchant);
        Assert.Equal(new MerchantBalance("EUR", 3_000, 1_500, 0, 1_500, 3_000, 0, 0, 0), balances["EUR"]);
        Assert.Equal(new MerchantBalance("USD", 0, 0, charge.Fee, charge.Amount, -refund.Amount, charge.Amount - charge.Fee + refund.Amount, 0, 0),
            balances["USD"]);
        Assert.Empty(await api.VerifyLedgerAsync());
        await AssertRerunPostsNothingAsync(paymentId, merchant);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_EUR_payment_refunded_in_full_before_settlement_posts_its_fee_and_both_conversions_and_stays_refunded(bool payableMayGoNegative)
    {
        var merchant = await api.CreateMerchantAsync(payableMayGoNegative);
        var (paymentId, reference) = await api.CapturedPaymentAsync(3_000, "EUR", merchant);
        Assert.Equal(201, (await api.RefundAsync(paymentId, merchant, new { })).Status);
        Assert.Equal("refunded", await api.StatusAsync(paymentId));
        await api.PassPayoutDelayAsync();

        await api.SettleAsync();

        Assert.Equal("refunded", await api.StatusAsync(paymentId));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM payment_settlements WHERE payment_id = @id", ("id", paymentId)));
        var charge = await api.ChargeLineAsync(reference);
        var refund = Assert.Single(await api.RefundLinesAsync(reference));
        var balances = await api.BalancesAsync(merchant);
        Assert.Equal(new MerchantBalance("EUR", 3_000, 3_000, 0, 3_000, 3_000, 0, 0, 0), balances["EUR"]);
        // The PSP kept its fee: the merchant's USD payable is that fee below zero (a fee is a fact, not a refund).
        Assert.Equal(new MerchantBalance("USD", 0, 0, charge.Fee, charge.Amount, -refund.Amount, charge.Amount - charge.Fee + refund.Amount, 0, 0),
            balances["USD"]);
        Assert.Equal(-charge.Fee, balances["USD"].PayableMinor);
        Assert.Empty(await api.VerifyLedgerAsync());
        await AssertRerunPostsNothingAsync(paymentId, merchant);
    }

    [Fact]
    public async Task A_refund_after_a_cross_currency_settlement_draws_on_the_USD_payable_at_the_amount_the_PSP_booked()
    {
        var merchant = await api.CreateMerchantAsync(payableMayGoNegative: true);
        var (paymentId, reference) = await api.CapturedPaymentAsync(3_000, "EUR", merchant);
        await api.PassPayoutDelayAsync();
        await api.SettleAsync();
        Assert.Equal(0, (await api.BalancesAsync(merchant))["EUR"].PayableMinor);

        Assert.Equal(201, (await api.RefundAsync(paymentId, merchant, new { amount = 1_000 })).Status);
        Assert.Equal(-1_000, (await api.BalancesAsync(merchant))["EUR"].PayableMinor);
        var report = await api.SettleAsync();

        Assert.True(report.RefundLinesConverted >= 1);
        Assert.Equal("settled", await api.StatusAsync(paymentId));
        var charge = await api.ChargeLineAsync(reference);
        var refund = Assert.Single(await api.RefundLinesAsync(reference));
        var balances = await api.BalancesAsync(merchant);
        Assert.Equal(new MerchantBalance("EUR", 3_000, 1_000, 0, 1_000, 3_000, 0, 0, 0), balances["EUR"]);
        Assert.Equal(charge.Amount - charge.Fee + refund.Amount, balances["USD"].PayableMinor);
        Assert.Empty(await api.VerifyLedgerAsync());
        await AssertRerunPostsNothingAsync(paymentId, merchant);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_cross_currency_refund_that_fails_after_succeeding_is_converted_back_once_the_books_know_it_failed(bool payableMayGoNegative)
    {
        var merchant = await api.CreateMerchantAsync(payableMayGoNegative);
        var (paymentId, reference) = await api.CapturedPaymentAsync(3_000, "EUR", merchant, paymentMethod: "pm_card_refundFail");
        var refund = await api.RefundAsync(paymentId, merchant, new { amount = 1_000 });
        Assert.Equal((201, "succeeded"), (refund.Status, refund.Json.GetProperty("status").GetString()));
        await api.PassPayoutDelayAsync(); // pspsim's clock passes the refund's delay too: the bank sends it back

        // The PSP booked the refund and its failure; the books still hold the refund as succeeded: the failure waits.
        await api.SettleAsync();
        Assert.Equal("settled", await api.StatusAsync(paymentId));
        Assert.Equal(2, (await api.RefundLinesAsync(reference)).Count);
        Assert.Equal(0, (await api.BalancesAsync(merchant))["EUR"].PayableMinor);
        Assert.Empty(await api.VerifyLedgerAsync());

        // The refund_failure, applied as its webhook or the sweeper would: the money is the merchant's again, in EUR.
        var answer = await api.Services.GetRequiredService<IPspConnector>()
            .RetrieveRefundAsync(refund.Json.GetProperty("psp_reference").GetString()!, CancellationToken.None);
        var reversed = await api.Services.GetRequiredService<RefundTransitions>()
            .ApplyAsync(Guid.Parse(refund.Json.GetProperty("id").GetString()!), answer!, "test.refund_failure");
        Assert.Equal(RefundResultKind.Applied, reversed.Kind);
        Assert.Equal(1_000, (await api.BalancesAsync(merchant))["EUR"].PayableMinor);

        var report = await api.SettleAsync();

        Assert.True(report.RefundLinesConverted >= 1);
        var charge = await api.ChargeLineAsync(reference);
        var balances = await api.BalancesAsync(merchant);
        Assert.Equal(0, balances["EUR"].PayableMinor);
        Assert.Equal(charge.Amount - charge.Fee, balances["USD"].PayableMinor);
        Assert.Empty(await api.VerifyLedgerAsync());
        await AssertRerunPostsNothingAsync(paymentId, merchant);
    }

    [Fact]
    public async Task A_strict_merchants_refund_after_a_cross_currency_settlement_is_held_on_its_USD_payable_and_converted_at_the_amount_the_PSP_booked()
    {
        var merchant = await api.CreateMerchantAsync(payableMayGoNegative: false);
        var (paymentId, reference) = await api.CapturedPaymentAsync(3_000, "EUR", merchant);
        await api.PassPayoutDelayAsync();
        await api.SettleAsync();
        var charge = await api.ChargeLineAsync(reference);
        Assert.Equal(0, (await api.BalancesAsync(merchant))["EUR"].PayableMinor);

        var refund = await api.RefundAsync(paymentId, merchant, new { amount = 1_000 });

        // Held in USD at an upper bound of the charge's booked rate; the merchant's EUR balance is never drawn below zero.
        Assert.Equal((201, "succeeded"), (refund.Status, refund.Json.GetProperty("status").GetString()));
        Assert.Equal(1, await PspRefundCountAsync(reference));
        var estimate = LedgerPostingRules.FxEstimateMinor(1_000, 3_000, charge.Amount);
        Assert.InRange(estimate, (1_000 * charge.Amount + 2_999) / 3_000, charge.Amount - charge.Fee);
        Assert.Equal(estimate, await DebitsPendingAsync(merchant, "USD"));
        Assert.Equal((0L, 0L), ((await api.BalancesAsync(merchant))["EUR"].PayableMinor, await DebitsPendingAsync(merchant, "EUR")));
        Assert.Empty(await api.VerifyLedgerAsync());

        var report = await api.SettleAsync();

        Assert.True(report.RefundLinesConverted >= 1);
        var booked = Assert.Single(await api.RefundLinesAsync(reference));
        var balances = await api.BalancesAsync(merchant);
        Assert.Equal(0, balances["EUR"].PayableMinor);
        Assert.Equal(charge.Amount - charge.Fee + booked.Amount, balances["USD"].PayableMinor);
        Assert.Equal(0, await DebitsPendingAsync(merchant, "USD"));
        Assert.Empty(await api.VerifyLedgerAsync());
        await AssertRerunPostsNothingAsync(paymentId, merchant);
    }

    [Fact]
    public async Task A_strict_merchants_refund_after_a_cross_currency_settlement_that_its_USD_payable_cannot_cover_is_refused_with_nothing_written_or_sent()
    {
        var merchant = await api.CreateMerchantAsync(payableMayGoNegative: false);
        var (paymentId, reference) = await api.CapturedPaymentAsync(3_000, "EUR", merchant);
        await api.PassPayoutDelayAsync();
        await api.SettleAsync();
        var transfers = await api.TransfersAsync(paymentId);
        var balances = await api.BalancesAsync(merchant);

        // The whole payment: its estimate is above what the PSP paid out net of its fee.
        var refused = await api.RefundAsync(paymentId, merchant, new { });

        Assert.Equal((409, Problems.RefundExceedsPayableBalance), (refused.Status, refused.ProblemType));
        Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM refunds WHERE payment_id = @id", ("id", paymentId)));
        Assert.Equal(0, await PspRefundCountAsync(reference));
        Assert.Equal(transfers, await api.TransfersAsync(paymentId));
        Assert.Equal(balances, await api.BalancesAsync(merchant));
        Assert.Empty(await api.VerifyLedgerAsync());
    }

    [Fact]
    public async Task A_strict_merchants_refund_after_a_cross_currency_settlement_that_fails_releases_both_holds_and_converts_to_nothing()
    {
        var merchant = await api.CreateMerchantAsync(payableMayGoNegative: false);
        var (paymentId, reference) = await api.CapturedPaymentAsync(3_000, "EUR", merchant, paymentMethod: "pm_card_pendingRefund");
        await api.PassPayoutDelayAsync();
        await api.SettleAsync();
        var usdPayable = (await api.BalancesAsync(merchant))["USD"].PayableMinor;
        var refund = await api.RefundAsync(paymentId, merchant, new { amount = 1_000 });
        Assert.Equal((201, "pending"), (refund.Status, refund.Json.GetProperty("status").GetString()));
        Assert.True(await DebitsPendingAsync(merchant, "USD") > 0);

        // The PSP fails it before it succeeded; its word reaches the refund as a webhook or the sweeper would bring it.
        var pspRefund = refund.Json.GetProperty("psp_reference").GetString()!;
        await api.PspSim.SettleRefundAsync(pspRefund, "failed");
        var answer = await api.Services.GetRequiredService<IPspConnector>().RetrieveRefundAsync(pspRefund, CancellationToken.None);
        var failed = await api.Services.GetRequiredService<RefundTransitions>()
            .ApplyAsync(Guid.Parse(refund.Json.GetProperty("id").GetString()!), answer!, "test.refund_failed");

        Assert.Equal((RefundResultKind.Applied, RefundStatus.Failed), (failed.Kind, failed.Refund!.Status));
        Assert.Equal((0L, 0L), (await DebitsPendingAsync(merchant, "USD"), await DebitsPendingAsync(merchant, "EUR")));
        Assert.Empty(await api.VerifyLedgerAsync());

        // The PSP booked the refund and its failure: converted, they cancel out in USD.
        await api.SettleAsync();
        Assert.Equal(2, (await api.RefundLinesAsync(reference)).Count);
        var balances = await api.BalancesAsync(merchant);
        Assert.Equal((0L, usdPayable), (balances["EUR"].PayableMinor, balances["USD"].PayableMinor));
        Assert.Empty(await api.VerifyLedgerAsync());
        await AssertRerunPostsNothingAsync(paymentId, merchant);
    }

    [Fact]
    public async Task A_strict_merchants_refund_after_a_cross_currency_settlement_that_comes_back_after_succeeding_returns_its_USD_once_converted()
    {
        var merchant = await api.CreateMerchantAsync(payableMayGoNegative: false);
        var (paymentId, reference) = await api.CapturedPaymentAsync(3_000, "EUR", merchant, paymentMethod: "pm_card_refundFail");
        await api.PassPayoutDelayAsync();
        await api.SettleAsync();
        var charge = await api.ChargeLineAsync(reference);
        var refund = await api.RefundAsync(paymentId, merchant, new { amount = 1_000 });
        Assert.Equal((201, "succeeded"), (refund.Status, refund.Json.GetProperty("status").GetString()));
        await api.PassPayoutDelayAsync(); // the bank sends it back
        var answer = await api.Services.GetRequiredService<IPspConnector>()
            .RetrieveRefundAsync(refund.Json.GetProperty("psp_reference").GetString()!, CancellationToken.None);
        var reversed = await api.Services.GetRequiredService<RefundTransitions>()
            .ApplyAsync(Guid.Parse(refund.Json.GetProperty("id").GetString()!), answer!, "test.refund_failure");
        Assert.Equal(RefundResultKind.Applied, reversed.Kind);
        Assert.Equal(0, (await api.BalancesAsync(merchant))["EUR"].PayableMinor);

        await api.SettleAsync();

        Assert.Equal(2, (await api.RefundLinesAsync(reference)).Count);
        var balances = await api.BalancesAsync(merchant);
        Assert.Equal((0L, charge.Amount - charge.Fee), (balances["EUR"].PayableMinor, balances["USD"].PayableMinor));
        Assert.Equal((0L, 0L), (await DebitsPendingAsync(merchant, "USD"), await DebitsPendingAsync(merchant, "EUR")));
        Assert.Empty(await api.VerifyLedgerAsync());
        await AssertRerunPostsNothingAsync(paymentId, merchant);
    }

    private Task<long> DebitsPendingAsync(string merchant, string currency) => api.ScalarAsync(
        "SELECT coalesce(sum(debits_pending), 0)::bigint FROM ledger_account_totals WHERE owner = @owner AND currency = @currency",
        ("owner", "merchant:" + merchant), ("currency", currency));

    private async Task<int> PspRefundCountAsync(string paymentIntent)
    {
        using var http = new HttpClient { BaseAddress = new Uri(api.PspSim.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", api.PspSim.ApiKey);
        using var list = JsonDocument.Parse(await http.GetStringAsync($"/v1/refunds?limit=100&payment_intent={paymentIntent}"));
        return list.RootElement.GetProperty("data").GetArrayLength();
    }

    private async Task AssertRerunPostsNothingAsync(Guid paymentId, string merchant)
    {
        var transfers = await api.TransfersAsync(paymentId);
        var balances = await api.BalancesAsync(merchant);

        await api.SettleAsync();

        Assert.Equal(transfers, await api.TransfersAsync(paymentId));
        Assert.Equal(balances, await api.BalancesAsync(merchant));
    }
}

using Currency = Payrail.Domain.Money.Currency;
using System.Net.Http.Json;
using Npgsql;
using Payrail.Worker;
using Payrail.Domain.Ledger;
using Payrail.Ledger;
using Payrail.Settlement;
using Payrail.Tests.Payments;
using Xunit;

namespace Payrail.Tests.Settlement;

/// <summary>
/// The settlement step against real PostgreSQL and pspsim: a captured payment settles once the PSP has released its
/// funds, with the fee and the PSP → cash move exactly as pspsim's balance transaction booked them; a payment in another
/// currency converts through its fx account at pspsim's rate; a re-run changes nothing; the books stay verified.
/// </summary>
public sealed class SettlementTests(SettlementFixture api) : IClassFixture<SettlementFixture>
{
    private const string Provider = "stripe";

    [Fact]
    public async Task A_captured_payment_settles_after_the_payout_delay_with_the_fee_and_cash_pspsim_booked()
    {
        var (paymentId, reference) = await api.CapturedPaymentAsync(amount: 1999);
        await api.PassPayoutDelayAsync();

        var report = await api.SettleAsync();

        Assert.True(report.Settled >= 1);
        Assert.Equal("settled", await api.StatusAsync(paymentId));
        var line = await api.ChargeLineAsync(reference);
        Assert.Equal(("usd", 1999L), (line.Currency, line.Amount));
        var transfers = await api.TransfersAsync(paymentId);
        var fee = Assert.Single(transfers, t => t.Id == TransferIds.For(paymentId, TransferSteps.SettleFee));
        Assert.Equal((LedgerAccountOwner.Merchant(PaymentsApiFixture.MerchantId), LedgerAccountOwner.Fees(Provider), line.Fee, "USD"),
            (fee.Debit, fee.Credit, fee.Amount, fee.Currency));
        var cash = Assert.Single(transfers, t => t.Id == TransferIds.For(paymentId, TransferSteps.SettleCash));
        Assert.Equal((LedgerAccountOwner.Psp(Provider), LedgerAccountOwner.Cash(Provider), line.Net, "USD"),
            (cash.Debit, cash.Credit, cash.Amount, cash.Currency));
        Assert.DoesNotContain(transfers, t => t.Debit.StartsWith(LedgerAccountOwner.FxPrefix, StringComparison.Ordinal));
        Assert.Equal(line.Id, await api.TextAsync("SELECT balance_transaction FROM payment_settlements WHERE payment_id = @id", paymentId));
        Assert.Equal(1, await api.ScalarAsync(
            "SELECT count(*) FROM outbox WHERE aggregate_id = @id AND event_type = 'payment.settled'", ("id", paymentId)));
        Assert.Empty(await api.VerifyLedgerAsync());
    }

    [Fact]
    public async Task A_payment_whose_funds_are_not_yet_available_stays_captured()
    {
        var (paymentId, _) = await api.CapturedPaymentAsync();

        var report = await api.SettleAsync();

        Assert.True(report.NotYetAvailable >= 1);
        Assert.Equal("captured", await api.StatusAsync(paymentId));
        Assert.DoesNotContain(await api.TransfersAsync(paymentId), t => t.Id == TransferIds.For(paymentId, TransferSteps.SettleCash));
        Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM payment_settlements WHERE payment_id = @id", ("id", paymentId)));
    }

    [Fact]
    public async Task A_EUR_payment_settles_in_USD_through_the_fx_account_at_pspsims_rate()
    {
        var (paymentId, reference) = await api.CapturedPaymentAsync(amount: 10_000, currency: "EUR");
        await api.PassPayoutDelayAsync();

        await api.SettleAsync();

        Assert.Equal("settled", await api.StatusAsync(paymentId));
        // €100.00 × 1.08 = $108.00; fee 2.9% of 10,800 = 313 + 30 = 343 cents; net 10,457 (pspsim's defaults).
        var line = await api.ChargeLineAsync(reference);
        Assert.Equal(("usd", 10_800L, 343L, 10_457L), (line.Currency, line.Amount, line.Fee, line.Net));
        var merchant = LedgerAccountOwner.Merchant(PaymentsApiFixture.MerchantId);
        var fx = LedgerAccountOwner.Fx(Currency.EUR, Currency.USD);
        var transfers = (await api.TransfersAsync(paymentId)).ToDictionary(t => t.Id);
        Assert.Equal((merchant, fx, 10_000L, "EUR"), Leg(transfers[TransferIds.For(paymentId, TransferSteps.SettleFxOut)]));
        Assert.Equal((fx, merchant, line.Amount, "USD"), Leg(transfers[TransferIds.For(paymentId, TransferSteps.SettleFxIn)]));
        Assert.Equal((merchant, LedgerAccountOwner.Fees(Provider), line.Fee, "USD"), Leg(transfers[TransferIds.For(paymentId, TransferSteps.SettleFee)]));
        Assert.Equal((LedgerAccountOwner.Psp(Provider), LedgerAccountOwner.Cash(Provider), line.Net, "USD"),
            Leg(transfers[TransferIds.For(paymentId, TransferSteps.SettleCash)]));
        Assert.Empty(await api.VerifyLedgerAsync());
    }

    [Fact]
    public async Task Re_running_a_day_changes_nothing()
    {
        var (paymentId, _) = await api.CapturedPaymentAsync(amount: 4_321);
        await api.PassPayoutDelayAsync();
        // Two runs race for the same payment (the worker's schedule and an operator's --once): one settles it.
        await Task.WhenAll(api.SettleAsync(), api.SettleAsync());
        Assert.Equal("settled", await api.StatusAsync(paymentId));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM payment_settlements WHERE payment_id = @id", ("id", paymentId)));
        Assert.Equal(1, await api.ScalarAsync(
            "SELECT count(*) FROM outbox WHERE aggregate_id = @id AND event_type = 'payment.settled'", ("id", paymentId)));
        var before = await BooksAsync();

        var again = await api.SettleAsync();
        await Task.WhenAll(api.SettleAsync(), api.SettleAsync());

        Assert.Equal(0, again.Settled);
        Assert.Equal(before, await BooksAsync());
        Assert.Empty(await api.VerifyLedgerAsync());
    }

    [Fact]
    public async Task Balances_are_per_merchant_and_currency_captures_minus_refunds_minus_fees()
    {
        var merchant = "m_bal_" + Guid.NewGuid().ToString("N")[..8];
        await CreateMerchantAsync(merchant, payableMayGoNegative: false);
        var (usd, usdReference) = await api.CapturedPaymentAsync(amount: 2_500, merchantId: merchant);
        var (eur, eurReference) = await api.CapturedPaymentAsync(amount: 5_000, currency: "EUR", merchantId: merchant);
        var (third, _) = await api.CapturedPaymentAsync(amount: 700, merchantId: merchant);
        await api.PassPayoutDelayAsync();
        await api.SettleAsync();
        // Captured after the clock moved: its funds are not released yet.
        var (late, _) = await api.CapturedPaymentAsync(amount: 900, merchantId: merchant);
        Assert.Equal(("settled", "settled", "settled", "captured"),
            (await api.StatusAsync(usd), await api.StatusAsync(eur), await api.StatusAsync(third), await api.StatusAsync(late)));

        await using var connection = await api.Postgres.OpenAsync();
        var balances = (await MerchantBalances.ReadAsync(connection, merchant, CancellationToken.None)).ToDictionary(b => b.Currency);

        var usdLine = await api.ChargeLineAsync(usdReference);
        var eurLine = await api.ChargeLineAsync(eurReference);
        var thirdLine = await api.ChargeLineAsync((await api.TextAsync("SELECT psp_reference FROM payments WHERE id = @id", third))!);
        Assert.Equal(new MerchantBalance("EUR", 5_000, 0, 0, 0, 5_000, 0, 0, 0), balances["EUR"]);
        var fees = usdLine.Fee + eurLine.Fee + thirdLine.Fee;
        Assert.Equal(new MerchantBalance("USD", 2_500 + 700 + 900, 0, fees, eurLine.Amount, 0, 2_500 + 700 + 900 - fees + eurLine.Amount, 0, 900),
            balances["USD"]);
        Assert.Empty(await api.VerifyLedgerAsync());

        using var json = new StringWriter();
        Assert.Equal(0, await MerchantBalances.PrintAsync(connection, merchant, "json", json, CancellationToken.None));
        Assert.Contains("\"currency\":\"USD\"", json.ToString());
        using var table = new StringWriter();
        Assert.Equal(0, await MerchantBalances.PrintAsync(connection, merchant, "table", table, CancellationToken.None));
        Assert.Contains("awaiting settlement", table.ToString());
        Assert.Equal(MerchantBalances.UnknownMerchantExitCode,
            await MerchantBalances.PrintAsync(connection, "m_nobody", "table", TextWriter.Null, CancellationToken.None));
    }

    [Fact]
    public async Task A_refund_after_settlement_draws_on_the_payable_balance_below_zero_only_where_the_merchant_allows_it()
    {
        var strict = "m_strict_" + Guid.NewGuid().ToString("N")[..8];
        var lenient = "m_lenient_" + Guid.NewGuid().ToString("N")[..8];
        await CreateMerchantAsync(strict, payableMayGoNegative: false);
        await CreateMerchantAsync(lenient, payableMayGoNegative: true);
        var (strictPayment, _) = await api.CapturedPaymentAsync(amount: 3_000, merchantId: strict);
        var (lenientPayment, _) = await api.CapturedPaymentAsync(amount: 3_000, merchantId: lenient);
        await api.PassPayoutDelayAsync();
        await api.SettleAsync();

        // A full refund (merchant → buyer, as the refunds path posts it) needs 3,000 while the payable holds 3,000 − fee.
        var refused = await Assert.ThrowsAsync<PostgresException>(() => PostFullRefundAsync(strictPayment));
        Assert.Equal(LedgerSqlState.BalanceLimitExceeded, refused.SqlState);
        await PostFullRefundAsync(lenientPayment);

        await using var connection = await api.Postgres.OpenAsync();
        var lenientUsd = Assert.Single(await MerchantBalances.ReadAsync(connection, lenient, CancellationToken.None));
        Assert.True(lenientUsd.PayableMinor < 0);
        Assert.Equal(-lenientUsd.FeesMinor, lenientUsd.PayableMinor);
        Assert.Empty(await api.VerifyLedgerAsync());
    }

    [Fact]
    public async Task Settle_once_exits_0_when_done_1_when_it_refused_a_charge_2_when_the_psp_is_unreachable_64_on_a_bad_date_78_on_a_broken_setting()
    {
        var date = SettlementFixture.RunDate.ToString("yyyy-MM-dd");
        Assert.Equal(0, await SettleOnceAsync(date));
        Assert.Equal(SettleCommand.FailedExitCode, await SettleOnceAsync(date,
            ("Stripe:BaseUrl", $"http://127.0.0.1:{Payrail.Testing.FreePort.Next()}"), ("Stripe:MaxNetworkRetries", "0")));
        Assert.Equal(SettleCommand.UsageExitCode, await SettleOnceAsync("2026-13-45"));
        Assert.Equal(Payrail.Hosting.RoleCommand.BadConfigurationExitCode, await SettleOnceAsync(date, ("Settlement:Schedule", "every day")));

        // A charge whose booking does not fit its payment (the PSP booked 1,000 for a payment captured at 999): refused,
        // nothing written, still CAPTURED.
        var merchant = "m_short_" + Guid.NewGuid().ToString("N")[..8];
        await CreateMerchantAsync(merchant, payableMayGoNegative: false);
        var tag = "x" + Guid.NewGuid().ToString("N")[..10];
        await api.BulkChargesAsync(tag, 1, DateTimeOffset.UtcNow, 1_000);
        await using (var connection = await api.Postgres.OpenAsync())
            await Payrail.Reconciliation.ReconciliationSeed.CapturedPaymentsAsync(connection, Provider, merchant, tag, 1, DateTimeOffset.UtcNow, 999, CancellationToken.None);
        var paymentId = Guid.Parse((await api.TextAsync("SELECT id::text FROM payments WHERE merchant_id = @m", ("m", merchant)))!);
        await api.PassPayoutDelayAsync();
        Assert.Equal(SettleCommand.RefusedExitCode, await SettleOnceAsync(date));
        Assert.Equal("captured", await api.StatusAsync(paymentId));
        Assert.DoesNotContain(await api.TransfersAsync(paymentId), t => t.Id == TransferIds.For(paymentId, TransferSteps.SettleFee));
        Assert.Empty(await api.VerifyLedgerAsync());
    }

    [Fact]
    public async Task The_worker_settles_on_its_schedule_and_reports_the_run_among_its_loops()
    {
        var (paymentId, _) = await api.CapturedPaymentAsync();
        await api.PassPayoutDelayAsync();
        // A month ahead, so that the run's date and lookback cover pspsim's moved clock; then past the next minute.
        var clock = new ShiftedClock { Offset = TimeSpan.FromDays(30) };
        var worker = api.NewWorker(clock, ("Settlement:Schedule", "* * * * *"), ("Settlement:MaxSleep", "00:00:00.050"));
        await worker.StartAsync();
        using var management = new HttpClient { BaseAddress = new Uri(worker.Urls.First()) };
        // The clock moves past the next occurrence only once the loop has computed it: moved earlier, the loop would
        // schedule from the moved time and wait up to a minute.
        await Payrail.Testing.Eventually.TrueAsync(async () =>
                (await management.GetFromJsonAsync<Dictionary<string, string>>(WorkerLoops.Path))!.GetValueOrDefault(SettlementLoop.LoopName)?.Contains("; next ") == true,
            TimeSpan.FromSeconds(30), "the settlement loop has scheduled its next run");
        clock.Offset += TimeSpan.FromSeconds(61);

        await Payrail.Testing.Eventually.TrueAsync(async () => await api.StatusAsync(paymentId) == "settled", TimeSpan.FromSeconds(30),
            "the scheduled run settles the payment");
        // The run reports once it has ended, after the payment's commit.
        await Payrail.Testing.Eventually.TrueAsync(async () =>
                (await management.GetFromJsonAsync<Dictionary<string, string>>(WorkerLoops.Path))![SettlementLoop.LoopName].Contains(" settled ", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the loop reports the run that settled it");
        var loops = await management.GetFromJsonAsync<Dictionary<string, string>>(WorkerLoops.Path);
        Assert.StartsWith("settlement: ", loops![SettlementLoop.LoopName]);
        Assert.Contains("payrail_settlement_runs", await management.GetStringAsync("/metrics"));
        await worker.StopAsync();
    }

    private Task<int> SettleOnceAsync(string date, params (string Key, string Value)[] settings) =>
        SettleCommand.RunOnceAsync(api.Configuration(settings), date, CancellationToken.None);

    private static (string, string, long, string) Leg((Guid Id, string Debit, string Credit, long Amount, string Currency) t) =>
        (t.Debit, t.Credit, t.Amount, t.Currency);

    /// <summary>Every count and sum a settlement could change.</summary>
    private async Task<string> BooksAsync()
    {
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT concat_ws(' ',
                (SELECT count(*) FROM ledger_transfers), (SELECT coalesce(sum(amount_minor), 0) FROM ledger_transfers),
                (SELECT count(*) FROM payment_settlements), (SELECT count(*) FROM payment_transitions),
                (SELECT count(*) FROM outbox), (SELECT string_agg(status || version, ',' ORDER BY id) FROM payments),
                (SELECT string_agg(concat_ws(':', owner, currency, debits_posted, credits_posted), ',' ORDER BY owner, currency) FROM ledger_account_totals))
            """, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private async Task CreateMerchantAsync(string id, bool payableMayGoNegative)
    {
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new NpgsqlCommand("INSERT INTO merchants (id, name, payable_may_go_negative) VALUES (@id, 'Settlement test', @negative)", connection);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("negative", payableMayGoNegative);
        await command.ExecuteNonQueryAsync();
    }

    private Task PostFullRefundAsync(Guid paymentId) => PostRefundAsync(paymentId, 3_000, Currency.USD);

    /// <summary>A refund's transfers as <see cref="LedgerPostingRules.RefundHold"/> and <see cref="LedgerPostingRules.Refund"/> write them (held, then posted), through <see cref="LedgerWrites"/>.</summary>
    private async Task PostRefundAsync(Guid paymentId, long amountMinor, Currency currency)
    {
        var buyer = (await api.TextAsync("SELECT buyer_id FROM payments WHERE id = @id", paymentId))!;
        var merchant = (await api.TextAsync("SELECT merchant_id FROM payments WHERE id = @id", paymentId))!;
        var rules = new LedgerPostingRules(paymentId, buyer, merchant, currency);
        await using var connection = await api.Postgres.OpenAsync();
        await using var batch = new NpgsqlBatch(connection);
        var refundId = Guid.NewGuid();
        new LedgerWrites().AddTo(batch, paymentId, [rules.RefundHold(refundId, amountMinor), rules.Refund(refundId, amountMinor)]);
        await batch.ExecuteNonQueryAsync();
    }
}

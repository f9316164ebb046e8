using Npgsql;
using Payrail.Domain.Ledger;
using Xunit;

namespace Payrail.Tests.Refunds;

/// <summary>
/// A refund's ledger hold through its lifecycle: reserved → a pending transfer merchant → buyer of its amount; succeeded →
/// that hold posted; failed before succeeding → that hold voided. Transfer ids derive from the payment and the refund.
/// </summary>
public sealed class RefundHoldLedgerTests(RefundsFixture api) : IClassFixture<RefundsFixture>
{
    [Fact]
    public async Task A_pending_refund_holds_its_amount_in_the_ledger_and_its_success_posts_the_hold()
    {
        var (payment, intent) = await api.CapturedPaymentAsync(1_000, "pm_card_pendingRefund");
        var answer = await api.RefundAsync(payment, new { amount = 600 });
        Assert.Equal((201, "pending"), (answer.Status, answer.Json.GetProperty("status").GetString()));
        var refundId = Guid.Parse(answer.Json.GetProperty("id").GetString()!);
        var holdId = TransferIds.For(payment, TransferSteps.RefundHold(refundId));
        Assert.Contains(("pending", (Guid?)null, 600L, "merchant:" + PaymentsFixtureMerchant, true), await RefundTransfersAsync(payment, holdId));
        await api.AssertRefundBooksAgreeAsync(payment, intent);

        await api.PspSim.SettleRefundAsync(answer.Json.GetProperty("psp_reference").GetString()!, "succeeded");
        await api.SweepRefundsAsync();

        Assert.Equal(600, (await api.PaymentAsync(payment)).GetProperty("amount_refunded").GetInt64());
        var posted = Assert.Single(await RefundTransfersAsync(payment, TransferIds.For(payment, TransferSteps.Refund(refundId))));
        Assert.Equal(("post_pending", (Guid?)holdId, 600L), (posted.Kind, posted.PendingId, posted.Amount));
        await api.AssertRefundBooksAgreeAsync(payment, intent);
    }

    [Fact]
    public async Task A_pending_refund_that_fails_voids_its_hold_and_gives_the_merchant_its_payable_back()
    {
        var (payment, intent) = await api.CapturedPaymentAsync(1_000, "pm_card_pendingRefund");
        var before = await HeldAsync();
        var answer = await api.RefundAsync(payment, new { amount = 600 });
        Assert.Equal("pending", answer.Json.GetProperty("status").GetString());
        Assert.Equal(before + 600, await HeldAsync());
        var refundId = Guid.Parse(answer.Json.GetProperty("id").GetString()!);
        var holdId = TransferIds.For(payment, TransferSteps.RefundHold(refundId));

        await api.PspSim.SettleRefundAsync(answer.Json.GetProperty("psp_reference").GetString()!, "failed");
        await api.SweepRefundsAsync();

        Assert.Equal("failed", (await api.GetAsync($"/v1/refunds/{refundId}", api.MerchantToken())).Json.GetProperty("status").GetString());
        var voided = Assert.Single(await RefundTransfersAsync(payment, TransferIds.For(payment, TransferSteps.RefundRelease(refundId))));
        Assert.Equal(("void_pending", (Guid?)holdId, 600L), (voided.Kind, voided.PendingId, voided.Amount));
        Assert.Empty(await RefundTransfersAsync(payment, TransferIds.For(payment, TransferSteps.Refund(refundId))));
        Assert.Equal(0, await api.ScalarAsync("SELECT amount_refunded_minor FROM payments WHERE id = @id", ("id", payment)));
        Assert.Equal(before, await HeldAsync());
        await api.AssertRefundBooksAgreeAsync(payment, intent);
    }

    private const string PaymentsFixtureMerchant = Payments.PaymentsApiFixture.MerchantId;

    /// <summary>What pending refunds of the fixture's merchant hold in USD (the class's tests run one at a time on their fixture).</summary>
    private Task<long> HeldAsync() => api.ScalarAsync(
        "SELECT debits_pending FROM ledger_account_totals WHERE owner = @owner AND currency = 'USD'", ("owner", "merchant:" + PaymentsFixtureMerchant));

    private async Task<List<(string Kind, Guid? PendingId, long Amount, string Debit, bool CreditsBuyer)>> RefundTransfersAsync(Guid paymentId, Guid transferId)
    {
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT t.kind, t.pending_id, t.amount_minor, d.owner, c.owner LIKE 'buyer:%'
            FROM ledger_transfers t
            JOIN ledger_accounts d ON d.id = t.debit_account_id JOIN ledger_accounts c ON c.id = t.credit_account_id
            WHERE t.payment_id = @payment AND t.id = @id
            """, connection);
        command.Parameters.AddWithValue("payment", paymentId);
        command.Parameters.AddWithValue("id", transferId);
        var rows = new List<(string, Guid?, long, string, bool)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            rows.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetGuid(1), reader.GetInt64(2), reader.GetString(3), reader.GetBoolean(4)));
        return rows;
    }
}

using Payrail.Psp;
using Payrail.Psp.Stripe;
using Payrail.Testing;
using Stripe;
using Xunit;

namespace Payrail.Tests.Psp;

/// <summary>
/// Settlement lines are in the account's settlement currency, which need not be the payment's: a JPY charge settled
/// in USD is read as US cents, never as yen.
/// </summary>
public sealed class StripeSettlementTests(PspSimFixture psp) : IClassFixture<PspSimFixture>, IDisposable
{
    private readonly StripeConnectorHost host = new(psp.BaseUrl, psp.ApiKey);
    private static CancellationToken None => CancellationToken.None;

    public void Dispose() => host.Dispose();

    [Fact]
    public void A_USD_settled_line_of_a_JPY_charge_is_read_in_US_cents()
    {
        var line = new BalanceTransaction
        {
            Id = "txn_1", Type = "charge", Amount = 8_271, Fee = 270, Net = 8_001, Currency = "usd", ExchangeRate = 0.0067m,
            Status = "pending", Created = new DateTime(2026, 11, 30, 0, 0, 0, DateTimeKind.Utc),
            AvailableOn = new DateTime(2026, 12, 2, 0, 0, 0, DateTimeKind.Utc),
            Source = new Charge { Id = "ch_1", PaymentIntentId = "pi_1", Amount = 12_345, Currency = "jpy" },
        };

        var mapped = StripeMapping.ToSettlementLine(line);

        Assert.Equal("USD", mapped.CurrencyCode);
        Assert.Equal(8_271, mapped.AmountMinor);
        Assert.Equal(270, mapped.FeeMinor);
        Assert.Equal(8_001, mapped.NetMinor);
        Assert.Equal("pi_1", mapped.PspReference);
    }

    [Fact]
    public async Task A_JPY_payment_settles_in_US_cents_at_pspsims_fixed_rate()
    {
        var request = StripeConnectorHost.Request(amountMinor: 12_345, currency: "JPY");
        var payment = await host.Connector.AuthorizeAsync(request, None);
        await host.Connector.RefundAsync(new PspRefundRequest($"{request.IdempotencyKey}:refund", payment.PspReference, 2_000, "JPY", null, new Dictionary<string, string>()), None);

        var lines = new List<PspSettlementLine>();
        await foreach (var line in host.Connector.ListSettlementLinesAsync(payment.CreatedAt.AddHours(-1), payment.CreatedAt.AddHours(1), None))
            if (line.PspReference == payment.PspReference) lines.Add(line);

        // ¥12,345 × 0.0067 = $82.7115 → 8,271 cents; fee 2.9% + 30 = 270; the refund ¥2,000 → $13.40.
        var charge = Assert.Single(lines, l => l.Type == "charge");
        Assert.Equal(("USD", 8_271L, 270L, 8_001L), (charge.CurrencyCode, charge.AmountMinor, charge.FeeMinor, charge.NetMinor));
        var refund = Assert.Single(lines, l => l.Type == "refund");
        Assert.Equal(("USD", -1_340L, -1_340L), (refund.CurrencyCode, refund.AmountMinor, refund.NetMinor));
        Assert.Equal(("JPY", 12_345L), (payment.CurrencyCode, payment.AmountMinor));
    }
}

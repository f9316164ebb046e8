using System.Text;
using Payrail.Psp;
using Payrail.Psp.Stripe;
using Xunit;

namespace Payrail.Tests.Psp;

/// <summary>
/// The itemized balance report's CSV: every line read to exact ISO minor units, whatever the chunks it arrives in, and
/// every file that breaks a rule refused as a whole, never read in part.
/// </summary>
public sealed class ActivityReportCsvTests
{
    private static readonly DateTimeOffset MadeAt = new(2027, 1, 15, 12, 0, 0, TimeSpan.Zero);
    private static readonly string Header = string.Join(',', ActivityReportCsv.Columns);

    // A USD charge (pending), a refund, a JPY-settled charge paid in KWD, an ISK charge in Stripe's two-decimal form, a
    // payout without source amount, a quoted id and CRLF line ends.
    private static readonly string File = Header + "\n"
        + "txn_1,2027-01-15 10:00:00,2027-01-17 00:00:00,usd,20.00,0.88,19.12,charge,ch_1,20.00,usd,pi_1\n"
        + "txn_2,2027-01-15 10:00:01,2027-01-15 10:00:01,usd,-5.00,0.00,-5.00,refund,re_1,5.00,usd,pi_1\n"
        + "txn_3,2027-01-15 10:00:02,2027-01-15 11:00:00,jpy,1616,77,1539,charge,ch_3,1.500,kwd,pi_3\r\n"
        + "txn_4,2027-01-15 10:00:03,2027-01-15 11:00:00,isk,5.00,0.00,5,charge,ch_4,5.00,isk,pi_4\n"
        + "\"txn_5\",2027-01-15 10:00:04,2027-01-15 10:00:04,usd,-14.12,0,-14.12,payout,po_1,,,";

    private static List<PspSettlementLine> Read(string text, int chunk)
    {
        var csv = new ActivityReportCsv(MadeAt);
        var bytes = Encoding.UTF8.GetBytes(text);
        var lines = new List<PspSettlementLine>();
        var held = 0;
        for (var at = 0; ; at += chunk)
        {
            var end = Math.Min(at + chunk, bytes.Length);
            var final = end == bytes.Length;
            // As the connector reads: what was not consumed is passed again with the next chunk behind it.
            var consumed = csv.Read(bytes.AsSpan(held, end - held), final, lines);
            held += consumed;
            if (final) return held == bytes.Length ? lines : throw new InvalidOperationException("bytes left over");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    public void Every_line_reads_to_exact_minor_units_whatever_the_chunks(int chunk)
    {
        var lines = Read(File, chunk);

        Assert.Equal(5, lines.Count);
        var charge = lines[0];
        Assert.Equal(("txn_1", "charge", "pi_1", "ch_1", 2000L, 88L, 1912L, "USD"),
            (charge.Id, charge.Type, charge.PspReference, charge.SourceId, charge.AmountMinor, charge.FeeMinor, charge.NetMinor, charge.CurrencyCode));
        Assert.Equal((2000L, "USD", "pending"), (charge.SourceAmountMinor, charge.SourceCurrencyCode, charge.Status));
        Assert.Equal(new DateTimeOffset(2027, 1, 15, 10, 0, 0, TimeSpan.Zero), charge.CreatedAt);
        Assert.Equal(new DateTimeOffset(2027, 1, 17, 0, 0, 0, TimeSpan.Zero), charge.AvailableOn);
        Assert.Equal((-500L, 0L, -500L, "refund", "available", 500L), (lines[1].AmountMinor, lines[1].FeeMinor, lines[1].NetMinor, lines[1].Type, lines[1].Status, lines[1].SourceAmountMinor));
        Assert.Equal((1616L, 77L, "JPY", 1500L, "KWD"), (lines[2].AmountMinor, lines[2].FeeMinor, lines[2].CurrencyCode, lines[2].SourceAmountMinor, lines[2].SourceCurrencyCode));
        Assert.Equal((5L, 5L, "ISK"), (lines[3].AmountMinor, lines[3].SourceAmountMinor, lines[3].CurrencyCode));
        Assert.Equal(("txn_5", "payout", null, null, -1412L), (lines[4].Id, lines[4].Type, lines[4].PspReference, lines[4].SourceAmountMinor, lines[4].AmountMinor));
    }

    [Theory]
    [InlineData("10.00", 2, 1000L)]
    [InlineData("10", 2, 1000L)]
    [InlineData("10.5", 2, 1050L)]
    [InlineData("-0.01", 2, -1L)]
    [InlineData("5.120", 3, 5120L)]
    [InlineData("500", 0, 500L)]
    [InlineData("500.00", 0, 500L)]
    [InlineData("92233720368547758.07", 2, long.MaxValue)]
    public void An_amount_in_major_units_is_its_exact_minor_units(string text, int exponent, long expected) =>
        Assert.Equal(expected, ActivityReportCsv.ParseMinor(text, exponent));

    [Theory]
    [InlineData("10.005", 2)]  // a part of a cent: never rounded
    [InlineData("500.5", 0)]
    [InlineData("1e3", 2)]
    [InlineData("1,000.00", 2)]
    [InlineData("10.", 2)]
    [InlineData(".5", 2)]
    [InlineData("", 2)]
    [InlineData("-", 2)]
    [InlineData("+1.00", 2)]
    [InlineData(" 1.00", 2)]
    [InlineData("92233720368547758.08", 2)]
    [InlineData("1234567890123456789", 0)]
    public void A_text_that_is_not_an_exact_amount_is_refused(string text, int exponent) =>
        Assert.Null(ActivityReportCsv.ParseMinor(text, exponent));

    public static TheoryData<string, string> Broken => new()
    {
        { "", "no header" },
        { "balance_transaction_id,created_utc\ntxn_1,2027-01-15 10:00:00\n", "the header" },
        { Header + "\ntxn_1,2027-01-15 10:00:00,2027-01-17 00:00:00,usd,20.00,0.88,19.12,charge,ch_1,20.00,usd\n", "fields" },
        { Header + "\ntxn_1,2027-01-15 10:00:00,2027-01-17 00:00:00,usd,20.00,0.88,19.12,charge,ch_1,20.00,usd,pi_1,x\n", "more than" },
        { Header + "\ntxn_1,2027-01-15 10:00:00,2027-01-17 00:00:00,usd,20.005,0.88,19.12,charge,ch_1,20.00,usd,pi_1\n", "gross" },
        { Header + "\ntxn_1,2027-01-15 10:00:00,2027-01-17 00:00:00,usd,20.00,,19.12,charge,ch_1,20.00,usd,pi_1\n", "without fee" },
        { Header + "\ntxn_1,2027-01-15T10:00:00Z,2027-01-17 00:00:00,usd,20.00,0.88,19.12,charge,ch_1,20.00,usd,pi_1\n", "created_utc" },
        { Header + "\ntxn_1,2027-02-30 10:00:00,2027-01-17 00:00:00,usd,20.00,0.88,19.12,charge,ch_1,20.00,usd,pi_1\n", "created_utc" },
        { Header + "\ntxn_1,2027-01-15 10:00:00,2027-01-17 00:00:00,zzz,20.00,0.88,19.12,charge,ch_1,20.00,usd,pi_1\n", "ISO 4217" },
        { Header + "\ntxn_1,2027-01-15 10:00:00,2027-01-17 00:00:00,usd,20.00,0.88,19.12,charge,ch_1,20.00,,pi_1\n", "customer_facing_currency" },
        { Header + "\n\"txn_1,2027-01-15 10:00:00,2027-01-17 00:00:00,usd,20.00,0.88,19.12,charge,ch_1,20.00,usd,pi_1\n", "closing quote" },
        { Header + "\ntx\"n_1,2027-01-15 10:00:00,2027-01-17 00:00:00,usd,20.00,0.88,19.12,charge,ch_1,20.00,usd,pi_1\n", "quote inside" },
        { Header + "\n,2027-01-15 10:00:00,2027-01-17 00:00:00,usd,20.00,0.88,19.12,charge,ch_1,20.00,usd,pi_1\n", "without balance_transaction_id" },
        { Header + "\n\n", "fields" },
        { Header + "\n" + new string('x', ActivityReportCsv.MaxLineBytes + 1), "longer than" },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void A_file_that_breaks_a_rule_is_refused_as_a_whole(string text, string why)
    {
        var refused = Assert.Throws<PspUnavailableException>(() => Read(text, 4096));

        Assert.Contains(why, refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8090/v1/files/file_1/contents", true)]       // the API's origin (pspsim)
    [InlineData("https://files.stripe.com/v1/files/file_1/contents", true)]    // Stripe's files host
    [InlineData("https://FILES.stripe.com:443/v1/files/file_1/contents", true)]
    [InlineData("http://127.0.0.1:8091/v1/files/file_1/contents", false)]      // another port
    [InlineData("http://files.stripe.com/v1/files/file_1/contents", false)]    // another scheme
    [InlineData("https://files.stripe.com.example.net/v1/files/file_1", false)]
    [InlineData("https://evil.example/v1/files/file_1/contents", false)]
    public void A_report_file_is_fetched_with_the_API_key_only_from_the_API_or_the_files_host(string url, bool allowed)
    {
        var options = new StripeConnectorOptions { BaseUrl = "http://127.0.0.1:8090", ApiKey = "sk_test_x" };

        Assert.Equal(allowed, StripeConnector.MaySendKeyTo(new Uri(url), options));
    }
}

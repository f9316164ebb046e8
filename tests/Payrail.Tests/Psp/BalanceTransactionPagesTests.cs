using System.Text;
using Payrail.Psp;
using Payrail.Psp.Stripe;
using Xunit;

namespace Payrail.Tests.Psp;

/// <summary>
/// Reconciliation reads the PSP's balance transactions with a forward-only Utf8JsonReader: every page must read to the
/// very lines the JsonDocument parser it replaced read (kept as <see cref="DocumentBalanceTransactionPages"/>), and every
/// page that parser refused, a truncated one above all, must still be refused, never read in part.
/// </summary>
public sealed class BalanceTransactionPagesTests
{
    // A page as pspsim and Stripe write it: an expanded charge (nested objects to skip), an expanded refund, a
    // cross-currency charge, a zero-decimal currency, a payout whose source stays an id, and an escaped member name.
    private const string Page = """
        {"object":"list","data":[
         {"id":"txn_1","object":"balance_transaction","amount":2000,"available_on":1800086400,"created":1800000000,"currency":"usd",
          "description":null,"exchange_rate":null,"fee":88,"fee_details":[{"amount":88,"application":null,"currency":"usd","description":"Stripe processing fees","type":"stripe_fee"}],
          "net":1912,"reporting_category":"charge","source":{"id":"ch_1","object":"charge","amount":2000,"amount_captured":1500,"amount_refunded":0,
          "balance_transaction":"txn_1","billing_details":{"address":null,"email":null,"name":null,"phone":null},"captured":true,"currency":"usd",
          "metadata":{"payrail_payment_id":"7d4f","note":"a \"quoted\" <b>é</b>"},"outcome":{"network_status":"approved_by_network","reason":null},
          "paid":true,"payment_intent":"pi_1","payment_method_details":{"card":{"brand":"visa","exp_month":12,"last4":"4242"},"type":"card"},
          "refunded":false,"status":"succeeded"},"status":"pending","type":"charge"},
         {"id":"txn_2","object":"balance_transaction","amount":-500,"available_on":1800086400,"created":1800000001,"currency":"usd","exchange_rate":null,
          "fee":0,"fee_details":[],"net":-500,"reporting_category":"refund","source":{"id":"re_1","object":"refund","amount":500,"balance_transaction":"txn_2",
          "charge":"ch_1","currency":"usd","destination_details":{"card":{"type":"refund"},"type":"card"},"metadata":{},"payment_intent":"pi_1",
          "status":"succeeded"},"status":"available","type":"refund"},
         {"id":"txn_3","object":"balance_transaction","amount":1616,"available_on":1800086400,"created":1800000002,"currency":"usd","exchange_rate":1.077333,
          "fee":77,"fee_details":[],"net":1539,"reporting_category":"charge","source":{"id":"ch_3","object":"charge","amount":1500,"amount_captured":1500,
          "currency":"eur","payment_intent":"pi_3","status":"succeeded"},"status":"pending","type":"charge"},
         {"id":"txn_4","object":"balance_transaction","amount":50000,"available_on":1800086400,"created":1800000003,"currency":"jpy","fee":1800,
          "net":48200,"reporting_category":"charge","source":{"id":"ch_4","object":"charge","amount":50000,"amount_captured":50000,"currency":"jpy",
          "payment_intent":"pi_4","status":"succeeded"},"status":"pending","type":"charge"},
         {"\u0069d":"txn_5","object":"balance_transaction","amount":-1412,"available_on":1800000004,"created":1800000004,"currency":"usd",
          "description":"STRIPE PAYOUT","fee":0,"fee_details":[],"net":-1412,"reporting_category":"payout","source":"po_1","status":"available","type":"payout"},
         {"id":"txn_6","amount":100,"available_on":1800000005,"created":1800000005,"currency":"usd","fee":0,"net":100,"source":null,"status":"available","type":"adjustment"}
        ],"has_more":true,"url":"/v1/balance_transactions"}
        """;

    [Fact]
    public void A_page_reads_to_the_same_lines_as_the_JsonDocument_parser_read()
    {
        var body = Encoding.UTF8.GetBytes(Page);

        var (lines, hasMore) = BalanceTransactionPages.Parse(body);

        var (expected, expectedHasMore) = DocumentBalanceTransactionPages.Parse(body);
        Assert.Equal(expectedHasMore, hasMore);
        Assert.Equal(expected, lines);
        Assert.Equal(6, lines.Count);
        Assert.Equal(("pi_1", 1_500L, "USD", "succeeded"), (lines[0].PspReference, lines[0].SourceAmountMinor, lines[0].SourceCurrencyCode, lines[0].SourceStatus));
        Assert.Equal(("re_1", 500L, "pi_1"), (lines[1].SourceId, lines[1].SourceAmountMinor, lines[1].PspReference));
        Assert.Equal(("po_1", (long?)null), (lines[4].SourceId, lines[4].SourceAmountMinor));
    }

    [Fact]
    public void Every_truncation_of_a_page_is_refused_never_read_in_part()
    {
        var body = Encoding.UTF8.GetBytes(Page.TrimEnd());
        for (var length = 0; length < body.Length; length++)
        {
            var cut = body.AsMemory(0, length);
            var e = Record.Exception(() => BalanceTransactionPages.Parse(cut.Span));
            Assert.True(e is PspUnavailableException, $"a page cut at byte {length} of {body.Length} was {(e is null ? "read" : e.GetType().Name)}");
        }
    }

    public static TheoryData<string> MalformedPages => new()
    {
        Page + "x",
        Page + "{}",
        "[]",
        "null",
        """{"object":"lists","data":[],"has_more":false}""",
        """{"object":"list","data":{},"has_more":false}""",
        """{"object":"list","data":[]}""",
        """{"object":"list","has_more":false}""",
        """{"object":"list","data":[],"has_more":"no"}""",
        Line("\"id\":\"txn_9\",", ""),
        Line("\"currency\":\"usd\",", ""),
        Line("\"currency\":\"usd\",", "\"currency\":7,"),
        Line("\"type\":\"charge\"", "\"type\":null"),
        Line("\"status\":\"pending\",", ""),
        Line("\"amount\":2000,", ""),
        Line("\"amount\":2000,", "\"amount\":20.5,"),
        Line("\"amount\":2000,", "\"amount\":\"2000\","),
        Line("\"amount\":2000,", "\"amount\":1e30,"),
        Line("\"fee\":88,", ""),
        Line("\"net\":1912,", "\"net\":null,"),
        Line("\"source\":\"ch_9\",", "\"source\":{\"object\":\"charge\",\"amount\":5,\"amount_captured\":\"5\",\"currency\":\"usd\"},"),
        Line("\"source\":\"ch_9\",", "\"source\":{\"object\":\"refund\",\"amount\":null,\"currency\":\"usd\"},"),
        Line("\"created\":1800000000,", ""),
        Line("\"available_on\":1800086400,", "\"available_on\":true,"),
    };

    [Theory]
    [MemberData(nameof(MalformedPages))]
    public void A_page_the_JsonDocument_parser_refused_is_refused(string page)
    {
        var body = Encoding.UTF8.GetBytes(page);

        // The JsonDocument parser refused a number of the wrong type with InvalidOperationException; a refusal either way.
        Assert.NotNull(Record.Exception(() => DocumentBalanceTransactionPages.Parse(body)));
        Assert.Throws<PspUnavailableException>(() => BalanceTransactionPages.Parse(body));
    }

    public static TheoryData<string> OddButReadablePages => new()
    {
        Line("\"source\":\"ch_9\",", "\"source\":7,"),
        Line("\"source\":\"ch_9\",", "\"source\":{\"id\":\"ch_9\",\"object\":\"charge\",\"currency\":\"usd\"},"),
        Line("\"source\":\"ch_9\",", "\"source\":{\"object\":\"charge\",\"amount\":\"5\",\"amount_captured\":5.5,\"currency\":\"usd\"},"),
        Line("\"source\":\"ch_9\",", "\"source\":{\"id\":\"re_9\",\"object\":\"refund\",\"amount\":5,\"currency\":null,\"status\":3},"),
        Line("\"reporting_category\":\"charge\",", "\"reporting_category\":{\"a\":[1,{\"b\":[]}]},"),
        Line("\"id\":\"txn_9\",", "\"id\":\"txn_9\",\"extra\":[[[{}]]],\"id\":\"txn_10\","),
        """{"has_more":false,"url":"/v1/balance_transactions","data":[],"object":"list"}""",
    };

    [Theory]
    [MemberData(nameof(OddButReadablePages))]
    public void A_page_the_JsonDocument_parser_read_reads_to_the_same_lines(string page)
    {
        var body = Encoding.UTF8.GetBytes(page);

        Assert.Equal(DocumentBalanceTransactionPages.Parse(body).Lines, BalanceTransactionPages.Parse(body).Lines);
    }

    [Fact]
    public void A_line_that_is_not_an_object_is_refused()
    {
        var body = Encoding.UTF8.GetBytes("""{"object":"list","data":[7],"has_more":false}""");

        Assert.Throws<PspUnavailableException>(() => BalanceTransactionPages.Parse(body));
    }

    /// <summary>A one-line page with <paramref name="field"/> of the line replaced by <paramref name="replacement"/>.</summary>
    private static string Line(string field, string replacement)
    {
        const string line = """
            {"id":"txn_9","amount":2000,"available_on":1800086400,"created":1800000000,"currency":"usd","fee":88,"net":1912,
             "reporting_category":"charge","source":"ch_9","status":"pending","type":"charge"}
            """;
        var text = line.Contains(field, StringComparison.Ordinal) ? line.Replace(field, replacement, StringComparison.Ordinal)
            : throw new ArgumentException($"the line has no {field}");
        return $$"""{"object":"list","data":[{{text}}],"has_more":false,"url":"/v1/balance_transactions"}""";
    }
}

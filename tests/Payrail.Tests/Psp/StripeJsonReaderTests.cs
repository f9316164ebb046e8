using System.Text.Json;
using Payrail.Psp;
using Payrail.Psp.Stripe;
using Payrail.Testing;
using Stripe;
using Xunit;

namespace Payrail.Tests.Psp;

/// <summary>
/// The webhook receiver reads an event with System.Text.Json (<see cref="StripeJsonReader"/>) instead of Stripe.net's
/// full Newtonsoft parse: for every event pspsim makes, and for the shapes pspsim does not send, what the receiver gets
/// is what Stripe.net's own parse and the same mapping give.
/// </summary>
public sealed class StripeJsonReaderTests(PspSimFixture psp) : IClassFixture<PspSimFixture>, IDisposable
{
    private const string Secret = "whsec_reader_test";
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_790_000_000);
    private readonly StripeConnectorHost host = new(psp.BaseUrl, psp.ApiKey, new Dictionary<string, string?> { ["Stripe:WebhookSecrets:0"] = Secret });
    private static CancellationToken None => CancellationToken.None;

    public void Dispose() => host.Dispose();

    [Fact]
    public async Task Every_pspsim_event_reads_as_Stripe_net_reads_it()
    {
        var captured = await host.Connector.AuthorizeAsync(StripeConnectorHost.Request(amountMinor: 1_999), None);
        await host.Connector.AuthorizeAsync(StripeConnectorHost.Request("pm_card_chargeDeclinedInsufficientFunds"), None);
        var held = await host.Connector.AuthorizeAsync(StripeConnectorHost.Request(capture: false, currency: "JPY", amountMinor: 500), None);
        await host.Connector.CaptureAsync(held.PspReference, 300, "JPY", held.PspReference + ":capture", None);
        var voided = await host.Connector.AuthorizeAsync(StripeConnectorHost.Request(capture: false), None);
        await host.Connector.VoidAsync(voided.PspReference, voided.PspReference + ":void", None);
        await host.Connector.AuthorizeAsync(StripeConnectorHost.Request("pm_card_threeDSecure2Required") with { ReturnUrl = "https://example.test/back" }, None);
        await host.Connector.RefundAsync(new PspRefundRequest(captured.PspReference + ":refund", captured.PspReference, 500, "EUR", "requested_by_customer",
            new Dictionary<string, string> { [StripeConnector.PayrailRefundIdKey] = Guid.NewGuid().ToString() }), None);

        var bodies = await EventBodiesAsync();
        Assert.True(bodies.Count >= 10, $"pspsim made {bodies.Count} events");
        foreach (var body in bodies) AssertReadAsStripeNet(body);
        var types = bodies.Select(b => JsonDocument.Parse(b).RootElement.GetProperty("type").GetString()).ToHashSet();
        Assert.Contains("payment_intent.succeeded", types);
        Assert.Contains("payment_intent.payment_failed", types);
        Assert.Contains("payment_intent.requires_action", types);
        Assert.Contains("charge.refunded", types);
    }

    [Fact]
    public async Task Every_pspsim_payment_intent_answer_reads_as_Stripe_net_reads_it()
    {
        var created = new List<PspPayment>
        {
            await host.Connector.AuthorizeAsync(StripeConnectorHost.Request(amountMinor: 1_999), None),
            await host.Connector.AuthorizeAsync(StripeConnectorHost.Request("pm_card_chargeDeclinedInsufficientFunds"), None),
            await host.Connector.AuthorizeAsync(StripeConnectorHost.Request(capture: false, currency: "JPY", amountMinor: 500), None),
            await host.Connector.AuthorizeAsync(StripeConnectorHost.Request("pm_card_threeDSecure2Required") with { ReturnUrl = "https://example.test/back" }, None),
            await host.Connector.AuthorizeAsync(StripeConnectorHost.Request("pm_card_sim_processing"), None),
        };
        using var http = PspClient();
        foreach (var payment in created)
        {
            var json = await http.GetStringAsync($"/v1/payment_intents/{payment.PspReference}?expand[0]=latest_charge");

            var reference = StripeMapping.ToPayment(StripeEntity.FromJson<PaymentIntent>(json));
            Assert.Equal(reference, StripeMapping.ToPayment(StripeJsonReader.PaymentIntent(json)));
            Assert.Equal(reference, payment);
        }
    }

    [Theory]
    [InlineData("""{"id":"pi_1","object":"payment_intent","amount":2000,"amount_capturable":0,"amount_received":2000,"currency":"eur","status":"succeeded","created":1789999990,"latest_charge":{"id":"ch_1","object":"charge","amount_captured":1500,"amount_refunded":200},"metadata":{"payrail_payment_id":"p"}}""")]
    [InlineData("""{"id":"pi_2","object":"payment_intent","amount":2000,"currency":"usd","status":"requires_action","created":1789999990,"next_action":{"type":"redirect_to_url","redirect_to_url":{"url":"https://bank.test/3ds","return_url":"https://x.test"}},"metadata":{}}""")]
    [InlineData("""{"id":"pi_3","object":"payment_intent","amount":2000,"currency":"usd","status":"requires_payment_method","last_payment_error":{"type":"card_error","code":"card_declined","message":"No."},"metadata":{"n":"1"}}""")]
    [InlineData("""{"id":"ch_1","object":"charge","payment_intent":"pi_4","metadata":{"payrail_payment_id":"x"}}""")]
    [InlineData("""{"id":"re_1","object":"refund","payment_intent":{"id":"pi_5","object":"payment_intent"},"amount":300,"currency":"eur","status":"failed","failure_reason":"expired_or_canceled_card","created":1789999990,"metadata":{"payrail_refund_id":"0f8fad5b-d9cb-469f-a165-70867728950e"}}""")]
    [InlineData("""{"id":"cus_1","object":"customer"}""")]
    public void Shapes_pspsim_does_not_send_read_as_Stripe_net_reads_them(string dataObject) =>
        AssertReadAsStripeNet("""{"id":"evt_x","object":"event","created":1789999995,"type":"some.type","data":{"object":""" + dataObject + "}}");

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"object":"payment_intent","id":"pi_1","amount":"twelve","currency":"eur"}}}""")]
    [InlineData("""{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"object":"payment_intent","id":"pi_1","amount":12.5,"currency":"eur"}}}""")]
    [InlineData("""{"type":"payment_intent.succeeded","data":{}}""")]
    public void Authentic_body_that_is_not_a_readable_event_is_malformed(string body)
    {
        var e = Assert.Throws<PspWebhookRejectedException>(() => host.Connector.ParseWebhook(body, StripeSigning.Sign(body, Secret, Now), Now));
        Assert.Equal(PspWebhookRejectedException.MalformedCode, e.Code);
        Assert.True(e.Authentic);
    }

    private void AssertReadAsStripeNet(string body)
    {
        var read = host.Connector.ParseWebhook(body, StripeSigning.Sign(body, Secret, Now), Now);
        Assert.Equal(Reference(body), read);
    }

    /// <summary>What the receiver got before: Stripe.net's parse, then the same mapping.</summary>
    private static PspWebhookEvent Reference(string body)
    {
        var e = EventUtility.ParseEvent(body, throwOnApiVersionMismatch: false);
        var (reference, metadata) = e.Data?.Object switch
        {
            PaymentIntent pi => (pi.Id, pi.Metadata),
            Charge charge => (charge.PaymentIntentId, charge.Metadata),
            Refund refund => (refund.PaymentIntentId, refund.Metadata),
            _ => (null, null),
        };
        return new PspWebhookEvent(e.Id, e.Type, reference, e.Data?.Object is PaymentIntent intent ? StripeMapping.ToPayment(intent) : null,
            StripeConnector.Utc(e.Created))
        {
            MetadataPaymentId = metadata is not null && metadata.TryGetValue("payrail_payment_id", out var id) ? id : null,
            Refund = e.Data?.Object is Refund r && !string.IsNullOrEmpty(r.Id) ? StripeMapping.ToRefund(r, reference ?? "") : null,
        };
    }

    private async Task<List<string>> EventBodiesAsync()
    {
        using var http = PspClient();
        using var list = JsonDocument.Parse(await http.GetStringAsync("/v1/events?limit=100"));
        var bodies = new List<string>();
        foreach (var e in list.RootElement.GetProperty("data").EnumerateArray())
            bodies.Add(await http.GetStringAsync("/v1/events/" + e.GetProperty("id").GetString()));
        return bodies;
    }

    private HttpClient PspClient()
    {
        var http = new HttpClient { BaseAddress = new Uri(psp.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", psp.ApiKey);
        return http;
    }
}

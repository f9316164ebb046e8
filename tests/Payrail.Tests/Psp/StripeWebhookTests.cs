using Payrail.Psp;
using Xunit;

namespace Payrail.Tests.Psp;

/// <summary>
/// Webhook verification, signed here the way Stripe signs (the PSP side's job):
/// <c>Stripe-Signature: t=&lt;unix&gt;,v1=hex(HMAC-SHA256(secret, "{t}.{body}"))</c>.
/// </summary>
public sealed class StripeWebhookTests : IDisposable
{
    private const string CurrentSecret = "whsec_current_test";
    private const string PreviousSecret = "whsec_previous_test";
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_790_000_000);

    // No PSP call is made: the base URL only has to be valid.
    private readonly StripeConnectorHost host = new("http://127.0.0.1:9", "sk_test_webhooks", new Dictionary<string, string?>
    {
        ["Stripe:WebhookSecrets:0"] = CurrentSecret,
        ["Stripe:WebhookSecrets:1"] = PreviousSecret,
        ["Stripe:WebhookToleranceSeconds"] = "300",
    });

    private IPspConnector Connector => host.Connector;

    public void Dispose() => host.Dispose();

    [Fact]
    public void Signed_payment_intent_event_is_parsed_with_its_payment()
    {
        var body = PaymentIntentEvent("evt_1", "payment_intent.succeeded", "pi_123", "succeeded");

        var parsed = Connector.ParseWebhook(body, Sign(body, CurrentSecret, Now), Now);

        Assert.Equal("evt_1", parsed.EventId);
        Assert.Equal("payment_intent.succeeded", parsed.Type);
        Assert.Equal("pi_123", parsed.PspReference);
        Assert.NotNull(parsed.Payment);
        Assert.Equal(PspPaymentStatus.Captured, parsed.Payment.Status);
        Assert.Equal(2_000, parsed.Payment.AmountMinor);
        Assert.Equal(2_000, parsed.Payment.AmountCapturedMinor);
        Assert.Equal("EUR", parsed.Payment.CurrencyCode);
        Assert.Equal(Now.AddSeconds(-5), parsed.CreatedAt);
    }

    [Fact]
    public void Failed_payment_event_carries_the_decline_code()
    {
        var body = PaymentIntentEvent("evt_2", "payment_intent.payment_failed", "pi_456", "requires_payment_method",
            lastPaymentError: """{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}""");

        var parsed = Connector.ParseWebhook(body, Sign(body, CurrentSecret, Now), Now);

        Assert.Equal(PspPaymentStatus.Failed, parsed.Payment!.Status);
        Assert.Equal("insufficient_funds", parsed.Payment.FailureCode);
        Assert.Equal("Your card has insufficient funds.", parsed.Payment.FailureMessage);
    }

    [Fact]
    public void Event_signed_with_the_previous_secret_is_accepted_during_rotation()
    {
        var body = PaymentIntentEvent("evt_3", "payment_intent.amount_capturable_updated", "pi_789", "requires_capture");

        var parsed = Connector.ParseWebhook(body, Sign(body, PreviousSecret, Now), Now);

        Assert.Equal(PspPaymentStatus.Authorized, parsed.Payment!.Status);
    }

    [Fact]
    public void Header_with_several_signatures_is_accepted_when_one_matches()
    {
        var body = PaymentIntentEvent("evt_4", "payment_intent.canceled", "pi_1", "canceled");
        var t = Now.ToUnixTimeSeconds();
        var header = $"t={t},v1={Hmac("whsec_unknown", t, body)},v1={Hmac(CurrentSecret, t, body)},v0=ignored";

        Assert.Equal(PspPaymentStatus.Canceled, Connector.ParseWebhook(body, header, Now).Payment!.Status);
    }

    [Fact]
    public void Signature_made_with_an_unknown_secret_is_rejected()
    {
        var body = PaymentIntentEvent("evt_5", "payment_intent.succeeded", "pi_1", "succeeded");

        Assert.Throws<PspWebhookRejectedException>(() => Connector.ParseWebhook(body, Sign(body, "whsec_attacker", Now), Now));
    }

    [Fact]
    public void Body_changed_after_signing_is_rejected()
    {
        var body = PaymentIntentEvent("evt_6", "payment_intent.succeeded", "pi_1", "succeeded");
        var header = Sign(body, CurrentSecret, Now);

        Assert.Throws<PspWebhookRejectedException>(() => Connector.ParseWebhook(body.Replace("2000", "9000"), header, Now));
    }

    [Theory]
    [InlineData(301)]
    [InlineData(-301)]
    [InlineData(86_400)]
    public void Authentic_event_outside_the_tolerance_window_is_rejected(int ageSeconds)
    {
        var body = PaymentIntentEvent("evt_7", "payment_intent.succeeded", "pi_1", "succeeded");

        Assert.Throws<PspWebhookRejectedException>(() => Connector.ParseWebhook(body, Sign(body, CurrentSecret, Now.AddSeconds(-ageSeconds)), Now));
    }

    [Fact]
    public void Authentic_event_inside_the_tolerance_window_is_accepted()
    {
        var body = PaymentIntentEvent("evt_8", "payment_intent.succeeded", "pi_1", "succeeded");

        Assert.Equal("evt_8", Connector.ParseWebhook(body, Sign(body, CurrentSecret, Now.AddSeconds(-299)), Now).EventId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("t=,v1=00")]
    [InlineData("t=notanumber,v1=00")]
    [InlineData("t=99999999999999999999,v1=00")]
    [InlineData("v1=00")]
    [InlineData("t=1790000000")]
    [InlineData("t=1790000000,t=1790000000,v1=00")]
    [InlineData("t=1790000000,v1")]
    public void Malformed_signature_header_is_rejected(string header)
    {
        var body = PaymentIntentEvent("evt_9", "payment_intent.succeeded", "pi_1", "succeeded");

        Assert.Throws<PspWebhookRejectedException>(() => Connector.ParseWebhook(body, header, Now));
    }

    [Theory]
    [InlineData("{\"id\": \"evt_10\", \"object\": \"event\", \"data\": ")]
    [InlineData("[]")]
    [InlineData("\"event\"")]
    [InlineData("{}")]
    [InlineData("{\"id\": 5, \"type\": [1]}")]
    [InlineData("not json")]
    public void Authentic_but_malformed_body_is_rejected(string body)
    {
        Assert.Throws<PspWebhookRejectedException>(() => Connector.ParseWebhook(body, Sign(body, CurrentSecret, Now), Now));
    }

    [Fact]
    public void Without_configured_secrets_every_webhook_is_rejected()
    {
        using var unconfigured = new StripeConnectorHost("http://127.0.0.1:9", "sk_test_webhooks");
        var body = PaymentIntentEvent("evt_11", "payment_intent.succeeded", "pi_1", "succeeded");

        Assert.Throws<PspWebhookRejectedException>(() => unconfigured.Connector.ParseWebhook(body, Sign(body, CurrentSecret, Now), Now));
    }

    private static string Sign(string body, string secret, DateTimeOffset at) => StripeSigning.Sign(body, secret, at);

    private static string Hmac(string secret, long t, string body) => StripeSigning.Hmac(secret, t, body);

    private static string PaymentIntentEvent(string eventId, string type, string intentId, string status, string lastPaymentError = "null")
    {
        var created = Now.AddSeconds(-5).ToUnixTimeSeconds();
        var received = status == "succeeded" ? 2000 : 0;
        var capturable = status == "requires_capture" ? 2000 : 0;
        return $$"""
            {"id":"{{eventId}}","object":"event","api_version":"2025-01-01","created":{{created}},"livemode":false,"pending_webhooks":1,"type":"{{type}}",
             "data":{"object":{"id":"{{intentId}}","object":"payment_intent","amount":2000,"amount_capturable":{{capturable}},"amount_received":{{received}},
               "currency":"eur","status":"{{status}}","created":{{created}},"capture_method":"automatic","last_payment_error":{{lastPaymentError}},
               "latest_charge":"ch_1","metadata":{"payrail_payment_id":"pay_1"},"next_action":null} } }
            """;
    }
}

using Payrail.Psp;
using Xunit;
using Payrail.Testing;

namespace Payrail.Tests.Psp;

/// <summary>The Stripe connector against a real pspsim: what each Stripe answer means to Payrail.</summary>
public sealed class StripeConnectorTests(PspSimFixture psp) : IClassFixture<PspSimFixture>, IDisposable
{
    private readonly StripeConnectorHost host = new(psp.BaseUrl, psp.ApiKey);
    private IPspConnector Connector => host.Connector;
    private static CancellationToken None => CancellationToken.None;

    public void Dispose() => host.Dispose();

    [Fact]
    public async Task Automatic_capture_purchase_is_Captured_with_amounts()
    {
        var request = StripeConnectorHost.Request(amountMinor: 1_250, currency: "EUR");

        var payment = await Connector.AuthorizeAsync(request, None);

        Assert.Equal(PspPaymentStatus.Captured, payment.Status);
        Assert.StartsWith("pi_", payment.PspReference);
        Assert.Equal(1_250, payment.AmountMinor);
        Assert.Equal(1_250, payment.AmountCapturedMinor);
        Assert.Equal(0, payment.AmountCapturableMinor);
        Assert.Equal(0, payment.AmountRefundedMinor);
        Assert.Equal("EUR", payment.CurrencyCode);
        Assert.Null(payment.FailureCode);
        var atPsp = await host.PspView.GetAsync(payment.PspReference);
        Assert.Equal("eur", atPsp.Currency);
        Assert.Equal(request.Metadata["payrail_payment_id"], atPsp.Metadata["payrail_payment_id"]);
        Assert.Equal("test order", atPsp.Description);
    }

    [Fact]
    public async Task Replayed_authorize_with_the_same_key_returns_the_same_payment()
    {
        var request = StripeConnectorHost.Request();

        var first = await Connector.AuthorizeAsync(request, None);
        var second = await Connector.AuthorizeAsync(request, None);

        Assert.Equal(first.PspReference, second.PspReference);
        Assert.Equal(1, await host.CountIntentsAsync(request.IdempotencyKey));
    }

    [Fact]
    public async Task Manual_capture_is_Authorized_then_partial_capture_is_Captured()
    {
        var request = StripeConnectorHost.Request(amountMinor: 1_000, capture: false);

        var authorized = await Connector.AuthorizeAsync(request, None);
        Assert.Equal(PspPaymentStatus.Authorized, authorized.Status);
        Assert.Equal(1_000, authorized.AmountCapturableMinor);
        Assert.Equal(0, authorized.AmountCapturedMinor);

        var captured = await Connector.CaptureAsync(authorized.PspReference, 600, "EUR", $"{request.IdempotencyKey}:capture", None);

        Assert.Equal(PspPaymentStatus.Captured, captured.Status);
        Assert.Equal(authorized.PspReference, captured.PspReference);
        Assert.Equal(1_000, captured.AmountMinor);
        Assert.Equal(600, captured.AmountCapturedMinor);
        Assert.Equal(0, captured.AmountCapturableMinor);
    }

    [Fact]
    public async Task Void_of_an_authorized_payment_is_Canceled()
    {
        var request = StripeConnectorHost.Request(capture: false);
        var authorized = await Connector.AuthorizeAsync(request, None);

        var voided = await Connector.VoidAsync(authorized.PspReference, $"{request.IdempotencyKey}:void", None);

        Assert.Equal(PspPaymentStatus.Canceled, voided.Status);
        Assert.Equal(0, voided.AmountCapturedMinor);
        Assert.Equal(PspPaymentStatus.Canceled, (await Connector.RetrieveAsync(authorized.PspReference, None))!.Status);
    }

    [Fact]
    public async Task Partial_then_full_refund_raise_the_refunded_amount_and_no_more_can_be_refunded()
    {
        var request = StripeConnectorHost.Request(amountMinor: 1_000);
        var payment = await Connector.AuthorizeAsync(request, None);

        var partial = await Connector.RefundAsync(new PspRefundRequest($"{request.IdempotencyKey}:refund:1", payment.PspReference, 300, "EUR", null, new Dictionary<string, string>()), None);
        Assert.StartsWith("re_", partial.RefundReference);
        Assert.Equal(payment.PspReference, partial.PspReference);
        Assert.Equal(300, partial.AmountMinor);
        Assert.Equal("EUR", partial.CurrencyCode);
        Assert.Equal(PspRefundStatus.Succeeded, partial.Status);
        Assert.Equal(300, (await Connector.RetrieveAsync(payment.PspReference, None))!.AmountRefundedMinor);

        var rest = await Connector.RefundAsync(new PspRefundRequest($"{request.IdempotencyKey}:refund:2", payment.PspReference, 700, "EUR", null, new Dictionary<string, string>()), None);
        Assert.NotEqual(partial.RefundReference, rest.RefundReference);
        Assert.Equal(1_000, (await Connector.RetrieveAsync(payment.PspReference, None))!.AmountRefundedMinor);

        var tooMuch = await Assert.ThrowsAsync<PspRequestRejectedException>(() =>
            Connector.RefundAsync(new PspRefundRequest($"{request.IdempotencyKey}:refund:3", payment.PspReference, 1, "EUR", null, new Dictionary<string, string>()), None));
        Assert.Equal(400, tooMuch.HttpStatus);
    }

    [Theory]
    [InlineData("pm_card_visa_chargeDeclined", "generic_decline")]
    [InlineData("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds")]
    public async Task Decline_is_a_Failed_result_with_the_decline_code(string paymentMethod, string expectedCode)
    {
        var request = StripeConnectorHost.Request(paymentMethod: paymentMethod);

        var payment = await Connector.AuthorizeAsync(request, None);

        Assert.Equal(PspPaymentStatus.Failed, payment.Status);
        Assert.Equal(expectedCode, payment.FailureCode);
        Assert.False(string.IsNullOrWhiteSpace(payment.FailureMessage));
        Assert.StartsWith("pi_", payment.PspReference);
        Assert.Equal(0, payment.AmountCapturedMinor);
        var retrieved = await Connector.RetrieveAsync(payment.PspReference, None);
        Assert.Equal(PspPaymentStatus.Failed, retrieved!.Status);
        Assert.Equal(expectedCode, retrieved.FailureCode);
    }

    [Fact]
    public async Task Card_needing_authentication_without_a_return_url_is_RequiresAction_with_no_redirect_url()
    {
        var request = StripeConnectorHost.Request(paymentMethod: "pm_card_authenticationRequired");

        var payment = await Connector.AuthorizeAsync(request, None);

        // As Stripe: no return_url, no redirect — the buyer can only authenticate through Stripe's SDK.
        Assert.Equal(PspPaymentStatus.RequiresAction, payment.Status);
        Assert.Null(payment.NextActionUrl);
        Assert.Null(payment.FailureCode);
    }

    [Fact]
    public async Task Configured_return_url_is_sent_and_a_card_needing_authentication_gets_a_redirect_back_to_it()
    {
        const string returnUrl = "https://shop.example/payrail/3ds-return";
        using var withReturn = new StripeConnectorHost(psp.BaseUrl, psp.ApiKey, new Dictionary<string, string?> { ["Stripe:ReturnUrl"] = returnUrl });

        var payment = await withReturn.Connector.AuthorizeAsync(StripeConnectorHost.Request(paymentMethod: "pm_card_authenticationRequired"), None);

        Assert.Equal(PspPaymentStatus.RequiresAction, payment.Status);
        Assert.True(Uri.TryCreate(payment.NextActionUrl, UriKind.Absolute, out _), $"next action url: {payment.NextActionUrl}");
        var atPsp = await withReturn.PspView.GetAsync(payment.PspReference);
        Assert.Equal("redirect_to_url", atPsp.NextAction.Type);
        Assert.Equal(returnUrl, atPsp.NextAction.RedirectToUrl.ReturnUrl);
        Assert.Equal(payment.NextActionUrl, atPsp.NextAction.RedirectToUrl.Url);
    }

    [Fact]
    public async Task Configured_return_url_changes_nothing_for_a_card_that_needs_no_authentication()
    {
        using var withReturn = new StripeConnectorHost(psp.BaseUrl, psp.ApiKey,
            new Dictionary<string, string?> { ["Stripe:ReturnUrl"] = "http://127.0.0.1:8080/3ds-return" });

        var payment = await withReturn.Connector.AuthorizeAsync(StripeConnectorHost.Request(), None);

        Assert.Equal(PspPaymentStatus.Captured, payment.Status);
        Assert.Null(payment.NextActionUrl);
    }

    [Fact]
    public async Task Retrieve_of_an_unknown_payment_is_null()
    {
        Assert.Null(await Connector.RetrieveAsync("pi_doesnotexist000000000000", None));
    }

    [Fact]
    public async Task Capture_of_a_captured_payment_is_rejected_with_the_psp_code()
    {
        var request = StripeConnectorHost.Request();
        var payment = await Connector.AuthorizeAsync(request, None);

        var rejected = await Assert.ThrowsAsync<PspRequestRejectedException>(() =>
            Connector.CaptureAsync(payment.PspReference, 1_000, "EUR", $"{request.IdempotencyKey}:capture", None));

        Assert.Equal(400, rejected.HttpStatus);
        Assert.False(string.IsNullOrWhiteSpace(rejected.Code));
    }

    [Fact]
    public async Task Mutating_call_without_the_callers_idempotency_key_is_refused_before_any_request()
    {
        var request = StripeConnectorHost.Request() with { IdempotencyKey = " " };

        await Assert.ThrowsAsync<ArgumentException>(() => Connector.AuthorizeAsync(request, None));
        await Assert.ThrowsAsync<ArgumentException>(() => Connector.RefundAsync(new PspRefundRequest("", "pi_x", 100, "EUR", null, new Dictionary<string, string>()), None));
        await Assert.ThrowsAsync<ArgumentException>(() => Connector.CaptureAsync("pi_x", 100, "EUR", "\t", None));
        await Assert.ThrowsAsync<ArgumentException>(() => Connector.VoidAsync("pi_x", "", None));
        await Assert.ThrowsAsync<ArgumentException>(() => Connector.RetrieveAsync("", None));
        Assert.Equal(0, await host.CountIntentsAsync(request.Metadata["payrail_payment_id"]));
    }

    [Fact]
    public async Task Settlement_lines_list_charges_with_fees_and_refunds()
    {
        // In the account's settlement currency (USD), so the line holds the charge's own amount (EUR would be converted).
        var request = StripeConnectorHost.Request(amountMinor: 10_000, currency: "USD");
        var payment = await Connector.AuthorizeAsync(request, None);
        await Connector.RefundAsync(new PspRefundRequest($"{request.IdempotencyKey}:refund", payment.PspReference, 2_500, "USD", null, new Dictionary<string, string>()), None);

        var lines = new List<PspSettlementLine>();
        await foreach (var line in Connector.ListSettlementLinesAsync(payment.CreatedAt.AddHours(-1), payment.CreatedAt.AddHours(1), None))
            if (line.PspReference == payment.PspReference) lines.Add(line);

        var charge = Assert.Single(lines, l => l.Type == "charge");
        Assert.Equal(10_000, charge.AmountMinor);
        Assert.True(charge.FeeMinor > 0, "a charge carries the PSP's fee");
        Assert.Equal(charge.AmountMinor - charge.FeeMinor, charge.NetMinor);
        Assert.Equal("USD", charge.CurrencyCode);
        Assert.StartsWith("ch_", charge.SourceId);
        var refund = Assert.Single(lines, l => l.Type == "refund");
        Assert.Equal(-2_500, refund.AmountMinor);

        var outside = new List<PspSettlementLine>();
        await foreach (var line in Connector.ListSettlementLinesAsync(payment.CreatedAt.AddHours(2), payment.CreatedAt.AddHours(3), None))
            outside.Add(line);
        Assert.DoesNotContain(outside, l => l.PspReference == payment.PspReference);
    }

    [Fact]
    public async Task Settlement_listing_past_its_bound_fails_loudly_instead_of_truncating()
    {
        var request = StripeConnectorHost.Request(amountMinor: 5_000);
        var payment = await Connector.AuthorizeAsync(request, None);
        await Connector.RefundAsync(new PspRefundRequest($"{request.IdempotencyKey}:refund", payment.PspReference, 1_000, "EUR", null, new Dictionary<string, string>()), None);
        using var bounded = new StripeConnectorHost(psp.BaseUrl, psp.ApiKey, new Dictionary<string, string?> { ["Stripe:MaxSettlementLines"] = "1" });

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var _ in bounded.Connector.ListSettlementLinesAsync(payment.CreatedAt.AddHours(-1), payment.CreatedAt.AddHours(1), None)) { }
        });
    }

    [Fact]
    public async Task Same_key_with_different_parameters_is_rejected_not_charged_again()
    {
        var request = StripeConnectorHost.Request(amountMinor: 1_000);
        await Connector.AuthorizeAsync(request, None);

        var rejected = await Assert.ThrowsAsync<PspRequestRejectedException>(() =>
            Connector.AuthorizeAsync(request with { AmountMinor = 2_000 }, None));

        Assert.Equal(400, rejected.HttpStatus);
        Assert.Equal(1, await host.CountIntentsAsync(request.IdempotencyKey));
    }

    [Fact]
    public async Task Invalid_api_key_is_rejected_as_unauthorized()
    {
        using var wrongKey = new StripeConnectorHost(psp.BaseUrl, "not_a_stripe_key");

        var rejected = await Assert.ThrowsAsync<PspRequestRejectedException>(() =>
            wrongKey.Connector.AuthorizeAsync(StripeConnectorHost.Request(), None));

        Assert.Equal(401, rejected.HttpStatus);
        Assert.DoesNotContain("not_a_stripe_key", rejected.Message);
    }

    [Fact]
    public async Task Authenticated_payment_leaves_RequiresAction_for_Captured()
    {
        var payment = await Connector.AuthorizeAsync(StripeConnectorHost.Request(paymentMethod: "pm_card_authenticationRequired"), None);
        Assert.Equal(PspPaymentStatus.RequiresAction, payment.Status);

        await psp.AuthenticateAsync(payment.PspReference);

        var after = await Connector.RetrieveAsync(payment.PspReference, None);
        Assert.Equal(PspPaymentStatus.Captured, after!.Status);
        Assert.Equal(payment.AmountMinor, after.AmountCapturedMinor);
        Assert.Null(after.NextActionUrl);
    }

    [Fact]
    public async Task Event_recorded_by_the_psp_parses_once_signed()
    {
        const string secret = "whsec_connector_test";
        using var withSecret = new StripeConnectorHost(psp.BaseUrl, psp.ApiKey, new Dictionary<string, string?> { ["Stripe:WebhookSecrets:0"] = secret });
        var payment = await withSecret.Connector.AuthorizeAsync(StripeConnectorHost.Request(amountMinor: 4_200), None);
        var body = await RawEventAsync("payment_intent.succeeded", payment.PspReference);
        var now = DateTimeOffset.UtcNow;

        var parsed = withSecret.Connector.ParseWebhook(body, StripeSigning.Sign(body, secret, now), now);

        Assert.StartsWith("evt_", parsed.EventId);
        Assert.Equal("payment_intent.succeeded", parsed.Type);
        Assert.Equal(payment.PspReference, parsed.PspReference);
        Assert.Equal(PspPaymentStatus.Captured, parsed.Payment!.Status);
        Assert.Equal(4_200, parsed.Payment.AmountMinor);
    }

    /// <summary>The exact JSON of one event as pspsim serves it (what it would POST as a webhook).</summary>
    private async Task<string> RawEventAsync(string type, string paymentIntentId)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var get = new HttpRequestMessage(HttpMethod.Get, $"{psp.BaseUrl}/v1/events?limit=100&type={type}");
        get.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", psp.ApiKey);
        using var response = await http.SendAsync(get);
        response.EnsureSuccessStatusCode();
        using var list = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var match = list.RootElement.GetProperty("data").EnumerateArray()
            .Single(e => e.GetProperty("data").GetProperty("object").GetProperty("id").GetString() == paymentIntentId);
        return match.GetRawText();
    }
}

using System.Reflection;
using Payrail.Psp;
using Payrail.Psp.Stripe;
using Stripe;
using Xunit;

namespace Payrail.Tests.Psp;

/// <summary>
/// Every payment's create+confirm is form-encoded by <see cref="PaymentIntentCreateForm"/> instead of Stripe.net's
/// reflection encoder: the body is byte for byte Stripe.net's, so a key first sent by an older build replays as the same
/// request (pspsim and Stripe refuse a key reused with other parameters).
/// </summary>
public sealed class PaymentIntentCreateFormTests
{
    public static TheoryData<PspAuthorizeRequest, string> Requests => new()
    {
        { StripeConnectorHost.Request(), "" },
        { StripeConnectorHost.Request(capture: false, currency: "JPY", amountMinor: 500), "" },
        { StripeConnectorHost.Request("pm_card_threeDSecure2Required"), "http://127.0.0.1:8081/payments/return" },
        { StripeConnectorHost.Request() with { ReturnUrl = "https://shop.test/back?order=1&x=[y]" }, "" },
        {
            StripeConnectorHost.Request() with
            {
                Description = "café & co = 100% [test] +/?#é 日本",
                Metadata = new Dictionary<string, string> { ["payrail_payment_id"] = "019a2b", ["payrail_merchant_id"] = "m demo&x=1", ["a[b]"] = "" },
            },
            ""
        },
        { StripeConnectorHost.Request() with { Description = "" }, "" },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void Create_form_is_what_Stripe_net_encodes(PspAuthorizeRequest request, string returnUrl)
    {
        var create = StripeConnector.CreateOptions(request, returnUrl);

        Assert.Equal(StripeNetForm(create), PaymentIntentCreateForm.Encode(create));
    }

    /// <summary>Headers (API version, idempotency key, user agent), content type and body: the raw request is the service's.</summary>
    [Fact]
    public async Task Create_request_is_what_Stripe_net_PaymentIntentService_sends()
    {
        var recorder = new Recorder();
        var client = new StripeClient("sk_test_form", httpClient: new SystemNetHttpClient(new HttpClient(recorder), maxNetworkRetries: 0,
            appInfo: null, enableTelemetry: false), apiBase: "http://127.0.0.1:9");
        var create = StripeConnector.CreateOptions(StripeConnectorHost.Request(), "");

        await new PaymentIntentService(client).CreateAsync(create, new RequestOptions { IdempotencyKey = "key_1" });
        await client.RawRequestAsync(HttpMethod.Post, "/v1/payment_intents", PaymentIntentCreateForm.Encode(create),
            new RawRequestOptions { IdempotencyKey = "key_1" });

        Assert.Equal(2, recorder.Requests.Count);
        Assert.Equal(recorder.Requests[0], recorder.Requests[1]);
        Assert.Contains("Idempotency-Key=key_1", recorder.Requests[1]);
        Assert.Contains("Stripe-Version=", recorder.Requests[1]);
    }

    /// <summary>Records each request as one line and answers a minimal PaymentIntent.</summary>
    private sealed class Recorder : HttpMessageHandler
    {
        public List<string> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add($"{request.Method} {request.RequestUri} | "
                         + string.Join(" | ", request.Headers.OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => h.Key + "=" + string.Join(",", h.Value)))
                         + " | " + request.Content?.Headers.ContentType + " | " + (request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken)));
            return new HttpResponseMessage(System.Net.HttpStatusCode.OK)
            {
                Content = new StringContent("""{"id":"pi_1","object":"payment_intent","amount":1000,"currency":"eur","status":"succeeded"}"""),
            };
        }
    }

    /// <summary>Stripe.net's own encoder (internal; what PaymentIntentService.CreateAsync sends).</summary>
    private static string StripeNetForm(BaseOptions options)
    {
        var encoder = typeof(PaymentIntentService).Assembly.GetType("Stripe.Infrastructure.FormEncoding.ContentEncoder", throwOnError: true)!;
        var method = encoder.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Single(m => m.Name == "CreateQueryString" && m.GetParameters() is [{ ParameterType: var t }, _] && t == typeof(BaseOptions));
        var v1 = Enum.Parse(method.GetParameters()[1].ParameterType, "V1");
        return (string)method.Invoke(null, [options, v1])!;
    }
}

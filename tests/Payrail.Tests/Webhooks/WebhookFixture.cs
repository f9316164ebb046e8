using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Payrail.Testing;
using Payrail.Tests.Payments;
using Payrail.Webhooks;

namespace Payrail.Tests.Webhooks;

/// <summary>
/// The payment service with a webhook secret and a 3-D Secure return URL (so pspsim answers a redirect), and
/// <see cref="SignedWebhooks"/> aimed at its receiver.
/// </summary>
public sealed class WebhookFixture : PaymentsApiFixture
{
    public const string Secret = "whsec_receiver_test_current";

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Stripe:WebhookSecrets:0", Secret),
        new("Stripe:ReturnUrl", "http://127.0.0.1/return"),
    ];

    public SignedWebhooks Webhooks() => new(PspSim, BaseUrl + WebhookEndpoints.StripeRoute, Secret);

    /// <summary>A payment waiting on 3-D Secure (answered 202), and its PaymentIntent.</summary>
    public async Task<(ApiAnswer Answer, string PaymentIntentId, string Token)> ThreeDSecurePaymentAsync(long amount = 2_500)
    {
        var token = BuyerToken("b_" + Guid.NewGuid().ToString("N")[..10]);
        var answer = await PostPaymentAsync(token, Guid.NewGuid().ToString(), Body(amount: amount, paymentMethod: "pm_card_authenticationRequired"));
        return (answer, answer.Json.GetProperty("psp_reference").GetString()!, token);
    }

    /// <summary>Rows of every table a webhook may write, to prove a refused one wrote nothing.</summary>
    public async Task<string> WebhookRowCountsAsync() =>
        await RowCountsAsync() + "," + await ScalarAsync("SELECT count(*) FROM psp_webhook_events");

    /// <summary>
    /// A new event (fresh id) made from a real one by <paramref name="change"/>: what the PSP could have sent, e.g. a
    /// status the PaymentIntent never had, to drive an order or a conflict pspsim cannot produce.
    /// </summary>
    public static string Rewritten(string eventBody, Action<JsonObject> change)
    {
        var node = JsonNode.Parse(eventBody)!.AsObject();
        node["id"] = "evt_test_" + Guid.NewGuid().ToString("N")[..20];
        change(node);
        return node.ToJsonString();
    }

    /// <summary>Refunds part of a PaymentIntent at pspsim directly (Payrail's refunds are not built yet).</summary>
    public async Task RefundAtPspAsync(string paymentIntentId, long amount)
    {
        using var http = new HttpClient { BaseAddress = new Uri(PspSim.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", PspSim.ApiKey);
        using var response = await http.PostAsync("/v1/refunds", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["payment_intent"] = paymentIntentId, ["amount"] = amount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }));
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Creates and confirms a PaymentIntent at pspsim directly, as if another system had: Payrail never saw it.</summary>
    public async Task<string> ForeignPaymentIntentAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri(PspSim.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", PspSim.ApiKey);
        using var response = await http.PostAsync("/v1/payment_intents", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["amount"] = "1500", ["currency"] = "usd", ["payment_method"] = "pm_card_visa", ["confirm"] = "true",
            ["automatic_payment_methods[enabled]"] = "true", ["automatic_payment_methods[allow_redirects]"] = "never",
        }));
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }
}

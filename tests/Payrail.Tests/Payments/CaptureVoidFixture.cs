using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Payrail.Auth;
using Payrail.Psp.Stripe;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>
/// The payment service with every request it sends to pspsim counted (method and path, each attempt as sent), so a test
/// can prove how many capture or cancel calls reached the PSP. No transport retries: a lost answer stays lost.
/// </summary>
public sealed class CaptureVoidFixture : PaymentsApiFixture
{
    public const int LeaseMs = 30_000;

    public PspRequestCounter PspRequests { get; } = new();

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Idempotency:LeaseMs", LeaseMs.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("Stripe:MaxNetworkRetries", "0"),
    ];

    protected override void ConfigureTestServices(IServiceCollection services) =>
        services.AddHttpClient(StripeConnectorServiceCollectionExtensions.HttpClientName)
            .AddHttpMessageHandler(() => new CountingHandler(PspRequests));

    public string MerchantToken(string merchantId = MerchantId) => Token(Roles.Merchant, "u_" + merchantId, merchantId);

    public string OpsToken() => Token(Roles.Ops, "ops_1");

    /// <summary>A manual-capture payment authorized at pspsim: its id, PaymentIntent id and buyer.</summary>
    public async Task<Authorized> AuthorizeAsync(long amount = 1000, string currency = "USD")
    {
        var buyer = "b_" + Guid.NewGuid().ToString("N")[..10];
        var created = await PostPaymentAsync(BuyerToken(buyer), Guid.NewGuid().ToString(),
            Body(amount: amount, currency: currency, capture: "manual"));
        Assert.Equal(201, created.Status);
        Assert.Equal("authorized", created.PaymentStatus);
        return new Authorized(created.PaymentId, created.Json.GetProperty("psp_reference").GetString()!, buyer);
    }

    public sealed record Authorized(Guid Id, string PaymentIntent, string Buyer);

    /// <summary>POST /v1/payments/{id}/{operation} with a JSON body (null: no body at all).</summary>
    public async Task<ApiAnswer> OperateAsync(Guid paymentId, string operation, string? token, string? key, string? body = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/payments/{paymentId}/{operation}");
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (key is not null) request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        using var response = await Http.SendAsync(request);
        return await ApiAnswer.ReadAsync(response);
    }

    /// <summary>The PaymentIntent as pspsim holds it now.</summary>
    public async Task<JsonElement> PaymentIntentAsync(string paymentIntentId)
    {
        using var http = new HttpClient { BaseAddress = new Uri(PspSim.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", PspSim.ApiKey);
        using var document = JsonDocument.Parse(await http.GetStringAsync($"/v1/payment_intents/{paymentIntentId}"));
        return document.RootElement.Clone();
    }

    private sealed class CountingHandler(PspRequestCounter counter) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            counter.Add(request.Method.Method, request.RequestUri?.AbsolutePath ?? "");
            return base.SendAsync(request, cancellationToken);
        }
    }
}

/// <summary>Requests sent to the PSP, by "METHOD /path".</summary>
public sealed class PspRequestCounter
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    public void Add(string method, string path) => _counts.AddOrUpdate($"{method} {path}", 1, (_, n) => n + 1);

    /// <summary>POSTs to /v1/payment_intents/{id}/capture and /cancel: the calls that consume an authorization.</summary>
    public int Operations(string paymentIntentId) => Count("POST", $"/v1/payment_intents/{paymentIntentId}/capture")
        + Count("POST", $"/v1/payment_intents/{paymentIntentId}/cancel");

    public int Count(string method, string path) => _counts.TryGetValue($"{method} {path}", out var n) ? n : 0;
}

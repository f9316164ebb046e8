using System.Net.Http.Headers;
using Payrail.Testing;
using Stripe;

namespace PspSim.Tests;

/// <summary>Stripe.net pointed at the fixture's pspsim, exactly as the connector will use it (no retries, so tests see every answer).</summary>
public static class Sim
{
    public static StripeClient Client(PspSimFixture f, string? apiKey = null) =>
        new(apiKey ?? f.ApiKey, httpClient: new SystemNetHttpClient(new HttpClient { Timeout = TimeSpan.FromSeconds(20) }, maxNetworkRetries: 0), apiBase: f.BaseUrl);

    public static HttpClient Raw(PspSimFixture f, string? apiKey = null)
    {
        var http = new HttpClient { BaseAddress = new Uri(f.BaseUrl), Timeout = TimeSpan.FromSeconds(20) };
        if (apiKey != "") http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey ?? f.ApiKey);
        return http;
    }

    public static FormUrlEncodedContent Form(params (string Key, string Value)[] pairs) =>
        new(pairs.Select(p => new KeyValuePair<string, string>(p.Key, p.Value)));

    /// <summary>A confirmed-card create that needs no return_url (redirects off), as the connector will send.</summary>
    public static PaymentIntentCreateOptions Card(long amount, string paymentMethod = "pm_card_visa", bool confirm = true, string captureMethod = "automatic") => new()
    {
        Amount = amount,
        Currency = "usd",
        PaymentMethod = paymentMethod,
        Confirm = confirm,
        CaptureMethod = captureMethod,
        AutomaticPaymentMethods = new PaymentIntentAutomaticPaymentMethodsOptions { Enabled = true, AllowRedirects = "never" },
    };
}

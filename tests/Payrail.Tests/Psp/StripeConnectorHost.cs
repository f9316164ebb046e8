using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Payrail.Psp;
using Payrail.Psp.Stripe;
using Stripe;

namespace Payrail.Tests.Psp;

/// <summary>The connector as the host builds it (AddStripeConnector over configuration), aimed at a given PSP.</summary>
internal sealed class StripeConnectorHost : IDisposable
{
    private readonly ServiceProvider provider;

    public StripeConnectorHost(string baseUrl, string apiKey, IDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Stripe:BaseUrl"] = baseUrl,
            ["Stripe:ApiKey"] = apiKey,
            ["Stripe:RequestTimeoutMs"] = "5000",
            ["Stripe:TotalTimeoutMs"] = "10000",
            ["Stripe:MaxNetworkRetries"] = "2",
            ["Stripe:RetryBaseDelayMs"] = "20",
            ["Stripe:MaxRetryDelayMs"] = "100",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>()) settings[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStripeConnector(configuration);
        provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        Connector = provider.GetRequiredService<IPspConnector>();
        // Test-side view of the PSP, independent of the connector under test (plain Stripe.net, no retries).
        PspView = new PaymentIntentService(new StripeClient(apiKey, httpClient: new SystemNetHttpClient(maxNetworkRetries: 0), apiBase: baseUrl));
    }

    public IPspConnector Connector { get; }

    public PaymentIntentService PspView { get; }

    /// <summary>How many PaymentIntents the PSP holds for one Payrail payment id (via its list API).</summary>
    public async Task<int> CountIntentsAsync(string payrailPaymentId)
    {
        var count = 0;
        var seen = 0;
        await foreach (var intent in PspView.ListAutoPagingAsync(new PaymentIntentListOptions { Limit = 100 }))
        {
            if (++seen > 10_000) throw new InvalidOperationException("too many intents to count");
            if (intent.Metadata.TryGetValue("payrail_payment_id", out var id) && id == payrailPaymentId) count++;
        }
        return count;
    }

    public void Dispose() => provider.Dispose();

    public static PspAuthorizeRequest Request(
        string paymentMethod = "pm_card_visa", long amountMinor = 1_000, bool capture = true, string currency = "EUR", string? payrailPaymentId = null)
    {
        var id = payrailPaymentId ?? $"pay_{Guid.NewGuid():N}";
        return new PspAuthorizeRequest(
            IdempotencyKey: id,
            AmountMinor: amountMinor,
            CurrencyCode: currency,
            PaymentMethod: paymentMethod,
            CaptureAutomatically: capture,
            Description: "test order",
            Metadata: new Dictionary<string, string> { ["payrail_payment_id"] = id });
    }
}

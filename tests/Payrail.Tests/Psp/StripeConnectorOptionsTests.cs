using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Payrail.Psp.Stripe;
using Xunit;

namespace Payrail.Tests.Psp;

public sealed class StripeConnectorOptionsTests
{
    [Theory]
    [InlineData("Stripe:BaseUrl", "not a url")]
    [InlineData("Stripe:ApiKey", "")]
    [InlineData("Stripe:RequestTimeoutMs", "0")]
    [InlineData("Stripe:TotalTimeoutMs", "100")]
    [InlineData("Stripe:MaxNetworkRetries", "50")]
    [InlineData("Stripe:WebhookToleranceSeconds", "0")]
    [InlineData("Stripe:MaxSettlementLines", "0")]
    [InlineData("Stripe:MaxTryLaterRetries", "6")]
    [InlineData("Stripe:MaxRetryAfterMs", "-1")]
    [InlineData("Stripe:ReturnUrl", "/3ds-return")]
    [InlineData("Stripe:ReturnUrl", "http://shop.example/3ds-return")]
    [InlineData("Stripe:ReturnUrl", "ftp://127.0.0.1/3ds-return")]
    [InlineData("Stripe:ReturnUrl", "https://user:secret@shop.example/3ds-return")]
    public void Unbounded_or_missing_settings_are_refused(string key, string value)
    {
        Assert.Throws<OptionsValidationException>(() =>
            new StripeConnectorHost("http://127.0.0.1:9", "sk_test_options", new Dictionary<string, string?> { [key] = value }));
    }

    [Theory]
    [InlineData("https://shop.example/3ds-return")]
    [InlineData("http://127.0.0.1:8080/3ds-return")]
    [InlineData("http://localhost:8080/3ds-return")]
    public void A_return_url_is_https_or_http_on_loopback(string returnUrl)
    {
        using var host = new StripeConnectorHost("http://127.0.0.1:9", "sk_test_options", new Dictionary<string, string?> { ["Stripe:ReturnUrl"] = returnUrl });
        Assert.NotNull(host.Connector);
    }

    [Fact]
    public void Shipped_appsettings_hold_a_valid_stripe_section()
    {
        var configuration = PayrailConfiguration.Load();
        var options = configuration.GetSection(StripeConnectorOptions.SectionName).Get<StripeConnectorOptions>()!;

        Assert.Empty(options.Problems());
        Assert.Equal(300, options.WebhookToleranceSeconds);
    }
}

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
    public void Unbounded_or_missing_settings_are_refused(string key, string value)
    {
        Assert.Throws<OptionsValidationException>(() =>
            new StripeConnectorHost("http://127.0.0.1:9", "sk_test_options", new Dictionary<string, string?> { [key] = value }));
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

using Payrail.Payments;
using Xunit;

namespace Payrail.Tests.Payments;

public sealed class ThreeDSecureReturnPageTests
{
    [Fact]
    public void The_return_page_echoes_only_what_has_the_PSPs_shape()
    {
        var page = ThreeDSecureReturnPage.Render("pi_<script>alert(1)</script>", "<b>succeeded</b>");

        Assert.DoesNotContain("<script>", page);
        Assert.DoesNotContain("<b>", page);
        Assert.Contains("authentication <strong>unknown</strong>.", page);
    }

    [Fact]
    public void The_return_page_names_the_PaymentIntent_and_what_the_redirect_claims()
    {
        Assert.Contains("authentication <strong>failed</strong> for <code>pi_3abc</code>", ThreeDSecureReturnPage.Render("pi_3abc", "failed"));
    }
}

using System.Net;
using Payrail.Psp.Stripe;
using Stripe;
using Xunit;

namespace Payrail.Tests.Psp;

/// <summary>Which error answers prove that Stripe refused a request (anything else is an unknown outcome).</summary>
public sealed class StripeRefusalTests
{
    [Theory]
    [InlineData("invalid_request_error")]
    [InlineData("card_error")]
    [InlineData("idempotency_error")]
    public void Stripes_error_object_of_a_refusal_type_with_its_request_id_is_a_refusal(string type)
    {
        Assert.True(StripeConnector.IsStripeRefusal(Answer(HttpStatusCode.BadRequest, type, "Stripe says no.", requestId: "req_123")));
    }

    [Theory]
    [InlineData("api_error")] // Stripe failed: it may have acted
    [InlineData("rate_limit_error")] // not a type Stripe documents
    [InlineData("")]
    public void An_error_of_another_type_is_not_a_refusal(string type)
    {
        Assert.False(StripeConnector.IsStripeRefusal(Answer(HttpStatusCode.BadRequest, type, "no", requestId: "req_123")));
    }

    [Fact]
    public void An_answer_without_Stripes_error_object_is_not_a_refusal()
    {
        var proxy = new StripeException(HttpStatusCode.RequestTimeout, null, "Invalid response object from API")
        {
            StripeResponse = Response(HttpStatusCode.RequestTimeout, requestId: null, "<html>408 Request Time-out</html>"),
        };

        Assert.False(StripeConnector.IsStripeRefusal(proxy));
    }

    [Fact]
    public void A_Stripe_shaped_error_without_Stripes_request_id_is_not_a_refusal()
    {
        Assert.False(StripeConnector.IsStripeRefusal(Answer(HttpStatusCode.BadRequest, "invalid_request_error", "no", requestId: null)));
    }

    [Fact]
    public void A_Stripe_shaped_error_without_a_message_is_not_a_refusal()
    {
        Assert.False(StripeConnector.IsStripeRefusal(Answer(HttpStatusCode.BadRequest, "invalid_request_error", null, requestId: "req_123")));
    }

    [Theory]
    [InlineData(429, "rate_limit")]
    [InlineData(429, "lock_timeout")] // how Stripe sends a lock timeout (pspsim's lock_timeout fault)
    [InlineData(429, null)]
    [InlineData(409, "idempotency_key_in_use")]
    [InlineData(409, "lock_timeout")]
    [InlineData(409, "rate_limit")]
    public void Stripe_asking_to_come_back_later_is_an_outage_not_a_refusal(int status, string? code)
    {
        Assert.True(StripeConnector.IsTryLater(status, code));
    }

    [Theory]
    [InlineData(409, null)]
    [InlineData(409, "resource_already_exists")]
    [InlineData(400, "lock_timeout")]
    [InlineData(400, "parameter_missing")]
    public void Other_conflicts_and_bad_requests_are_not_try_later(int status, string? code)
    {
        Assert.False(StripeConnector.IsTryLater(status, code));
    }

    private static StripeException Answer(HttpStatusCode status, string type, string? message, string? requestId) =>
        new(status, new StripeError { Type = type, Message = message }, message ?? "")
        {
            StripeResponse = Response(status, requestId, "{\"error\":{}}"),
        };

    private static StripeResponse Response(HttpStatusCode status, string? requestId, string body)
    {
        using var message = new HttpResponseMessage(status);
        if (requestId is not null) message.Headers.Add("Request-Id", requestId);
        return new StripeResponse(status, message.Headers, body);
    }
}

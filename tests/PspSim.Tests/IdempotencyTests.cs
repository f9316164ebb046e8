using System.Net;
using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

public sealed class IdempotencyTests(PspSimFixture fixture) : IClassFixture<PspSimFixture>
{
    private static (string, string)[] Create(long amount) =>
        [("amount", amount.ToString()), ("currency", "usd"), ("metadata[order_id]", "idem")];

    private static HttpRequestMessage Post(string key, params (string, string)[] form) =>
        new(HttpMethod.Post, "/v1/payment_intents") { Content = Sim.Form(form), Headers = { { "Idempotency-Key", key } } };

    [Fact]
    public async Task Concurrent_creates_with_one_key_make_exactly_one_intent()
    {
        var key = Guid.NewGuid().ToString();
        var before = await CountIntentsAsync();
        using var http = Sim.Raw(fixture);
        var answers = await Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
        {
            using var response = await http.SendAsync(Post(key, Create(4_321)));
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));

        Assert.Equal(before + 1, await CountIntentsAsync());
        var created = answers.Where(a => a.StatusCode == HttpStatusCode.OK).Select(a => a.Body).Distinct().ToList();
        Assert.Single(created);
        Assert.All(answers.Where(a => a.StatusCode != HttpStatusCode.OK), a =>
        {
            Assert.Equal(HttpStatusCode.Conflict, a.StatusCode);
            Assert.Contains("idempotency_error", a.Body);
        });
    }

    [Fact]
    public async Task Replayed_key_returns_the_stored_response()
    {
        var key = Guid.NewGuid().ToString();
        using var http = Sim.Raw(fixture);
        using var first = await http.SendAsync(Post(key, Create(1_111)));
        using var second = await http.SendAsync(Post(key, Create(1_111)));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());
    }

    [Fact]
    public async Task Replayed_decline_returns_the_stored_402()
    {
        var intents = new PaymentIntentService(Sim.Client(fixture));
        var options = new RequestOptions { IdempotencyKey = Guid.NewGuid().ToString() };
        var first = await Assert.ThrowsAsync<StripeException>(() => intents.CreateAsync(Sim.Card(999, "pm_card_visa_chargeDeclined"), options));
        var second = await Assert.ThrowsAsync<StripeException>(() => intents.CreateAsync(Sim.Card(999, "pm_card_visa_chargeDeclined"), options));
        Assert.Equal(HttpStatusCode.PaymentRequired, second.HttpStatusCode);
        Assert.Equal(first.StripeError.PaymentIntent.Id, second.StripeError.PaymentIntent.Id);
    }

    [Fact]
    public async Task Same_key_with_different_parameters_is_an_idempotency_error()
    {
        var intents = new PaymentIntentService(Sim.Client(fixture));
        var options = new RequestOptions { IdempotencyKey = Guid.NewGuid().ToString() };
        await intents.CreateAsync(new PaymentIntentCreateOptions { Amount = 500, Currency = "usd" }, options);
        var e = await Assert.ThrowsAsync<StripeException>(() =>
            intents.CreateAsync(new PaymentIntentCreateOptions { Amount = 501, Currency = "usd" }, options));
        Assert.Equal(HttpStatusCode.BadRequest, e.HttpStatusCode);
        Assert.Equal("idempotency_error", e.StripeError.Type);
    }

    [Fact]
    public async Task Keys_are_scoped_per_api_key()
    {
        var intents = new PaymentIntentService(Sim.Client(fixture));
        var otherIntents = new PaymentIntentService(Sim.Client(fixture, "sk_test_another_merchant"));
        var options = new RequestOptions { IdempotencyKey = Guid.NewGuid().ToString() };
        var mine = await intents.CreateAsync(new PaymentIntentCreateOptions { Amount = 600, Currency = "usd" }, options);
        var theirs = await otherIntents.CreateAsync(new PaymentIntentCreateOptions { Amount = 600, Currency = "usd" }, options);
        Assert.NotEqual(mine.Id, theirs.Id);
    }

    [Fact]
    public async Task Rejected_validation_is_not_stored_so_the_key_can_be_used_again()
    {
        var key = Guid.NewGuid().ToString();
        using var http = Sim.Raw(fixture);
        using var rejected = await http.SendAsync(Post(key, ("amount", "100")));
        Assert.Equal(HttpStatusCode.BadRequest, rejected.StatusCode);
        using var accepted = await http.SendAsync(Post(key, Create(100)));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    private async Task<int> CountIntentsAsync()
    {
        var count = 0;
        var service = new PaymentIntentService(Sim.Client(fixture));
        await foreach (var _ in service.ListAutoPagingAsync(new PaymentIntentListOptions { Limit = 100 })) count++;
        return count;
    }
}

using System.Net;
using System.Text.Json;
using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

/// <summary>
/// Stripe saves the first answer of an endpoint that began executing under its idempotency key, 500s included, and
/// replays it for 24 h; a 500 before execution (http_500) and a validation failure save nothing. Own class, own
/// pspsim: faults are process-wide.
/// </summary>
public sealed class StoredServerErrorTests(PspSimFixture fixture) : IClassFixture<PspSimFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => fixture.ResetAsync();

    public Task DisposeAsync() => fixture.ResetAsync();

    private static HttpRequestMessage Post(string path, string key, params (string, string)[] form) =>
        new(HttpMethod.Post, path) { Content = Sim.Form(form), Headers = { { "Idempotency-Key", key } } };

    private static (string, string)[] ConfirmedCard(string order) =>
    [
        ("amount", "2500"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
        ("automatic_payment_methods[enabled]", "true"), ("automatic_payment_methods[allow_redirects]", "never"),
        ("metadata[order]", order),
    ];

    [Fact]
    public async Task A_500_after_execution_commits_the_charge_and_every_same_key_retry_replays_that_500()
    {
        using var http = Sim.Raw(fixture);
        var (key, order) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString("N"));
        await fixture.AddFaultAsync("http_500_after_execution", count: 1, pathPrefix: "/v1/payment_intents", method: "POST");

        using var first = await http.SendAsync(Post("/v1/payment_intents", key, ConfirmedCard(order)));
        var firstBody = await first.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, first.StatusCode);
        Assert.Equal("api_error", JsonDocument.Parse(firstBody).RootElement.GetProperty("error").GetProperty("type").GetString());
        // The request ran: one intent, charged.
        var made = await IntentsOfAsync(order);
        Assert.Single(made);
        Assert.Equal("succeeded", made[0].Status);
        Assert.Equal(2500, made[0].AmountReceived);

        // The fault is spent; the key still answers the saved 500, and nothing runs again.
        for (var retry = 0; retry < 3; retry++)
        {
            using var again = await http.SendAsync(Post("/v1/payment_intents", key, ConfirmedCard(order)));
            Assert.Equal(HttpStatusCode.InternalServerError, again.StatusCode);
            Assert.Equal(firstBody, await again.Content.ReadAsStringAsync());
            Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
        }
        Assert.Single(await IntentsOfAsync(order));
    }

    [Fact]
    public async Task A_500_after_execution_of_a_confirm_leaves_the_intent_charged_and_is_replayed()
    {
        var intents = new PaymentIntentService(Sim.Client(fixture));
        var pi = await intents.CreateAsync(Sim.Card(1_800, confirm: false));
        var key = Guid.NewGuid().ToString();
        await fixture.AddFaultAsync("http_500_after_execution", count: 1, pathPrefix: $"/v1/payment_intents/{pi.Id}/confirm");
        var options = new RequestOptions { IdempotencyKey = key };

        var failed = await Assert.ThrowsAsync<StripeException>(() => intents.ConfirmAsync(pi.Id, new PaymentIntentConfirmOptions(), options));
        var replayed = await Assert.ThrowsAsync<StripeException>(() => intents.ConfirmAsync(pi.Id, new PaymentIntentConfirmOptions(), options));

        Assert.Equal(HttpStatusCode.InternalServerError, failed.HttpStatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, replayed.HttpStatusCode);
        Assert.Equal("succeeded", (await intents.GetAsync(pi.Id)).Status);
    }

    [Fact]
    public async Task A_500_before_execution_runs_and_saves_nothing_so_the_same_key_runs_the_request()
    {
        using var http = Sim.Raw(fixture);
        var (key, order) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString("N"));
        await fixture.AddFaultAsync("http_500", count: 1, pathPrefix: "/v1/payment_intents", method: "POST");

        using var first = await http.SendAsync(Post("/v1/payment_intents", key, ConfirmedCard(order)));
        Assert.Equal(HttpStatusCode.InternalServerError, first.StatusCode);
        Assert.Empty(await IntentsOfAsync(order));

        using var retry = await http.SendAsync(Post("/v1/payment_intents", key, ConfirmedCard(order)));
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Single(await IntentsOfAsync(order));
    }

    [Fact]
    public async Task A_request_refused_by_validation_is_not_turned_into_a_saved_500()
    {
        using var http = Sim.Raw(fixture);
        var key = Guid.NewGuid().ToString();
        await fixture.AddFaultAsync("http_500_after_execution", count: 1, pathPrefix: "/v1/payment_intents", method: "POST");

        using var refused = await http.SendAsync(Post("/v1/payment_intents", key, ("amount", "0"), ("currency", "usd")));
        using var again = await http.SendAsync(Post("/v1/payment_intents", key, ("amount", "0"), ("currency", "usd")));

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.False(again.Headers.Contains("Idempotent-Replayed"));
    }

    /// <summary>The intents carrying metadata[order] (by the list: read-after-write, unlike search).</summary>
    private async Task<List<PaymentIntent>> IntentsOfAsync(string order)
    {
        var found = new List<PaymentIntent>();
        await foreach (var pi in new PaymentIntentService(Sim.Client(fixture)).ListAutoPagingAsync(new PaymentIntentListOptions { Limit = 100 }))
            if (pi.Metadata.TryGetValue("order", out var o) && o == order) found.Add(pi);
        return found;
    }
}

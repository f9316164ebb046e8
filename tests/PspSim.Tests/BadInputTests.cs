using System.Net;
using System.Text.Json;
using Payrail.Testing;
using Xunit;

namespace PspSim.Tests;

/// <summary>Requests Stripe.net would not send, over raw HTTP: each must be rejected like Stripe, writing nothing.</summary>
public sealed class BadInputTests(PspSimFixture fixture) : IClassFixture<PspSimFixture>
{
    public static TheoryData<string, string?, string?> Rejected => new()
    {
        { "amount=100&currency=usd&colour=red", "parameter_unknown", "colour" },
        { "amount=100&currency=usd&metadata[a][b]=c", null, "metadata[a]" },
        { "currency=usd", "parameter_missing", "amount" },
        { "amount=100", "parameter_missing", "currency" },
        { "amount=0&currency=usd", "amount_too_small", "amount" },
        { "amount=-5&currency=usd", "amount_too_small", "amount" },
        { "amount=100000000&currency=usd", "amount_too_large", "amount" },
        { "amount=12.5&currency=usd", "parameter_invalid_integer", "amount" },
        { "amount=100&currency=xyz", "invalid_currency", "currency" },
        { "amount=100&currency=usd&capture_method=later", null, "capture_method" },
        { "amount=100&currency=usd&payment_method=pm_card_nope", "resource_missing", "payment_method" },
        { "amount=100&currency=usd&automatic_payment_methods[enabled]=true&automatic_payment_methods[colour]=x", "parameter_unknown", "automatic_payment_methods[colour]" },
        { "amount=100&currency=usd&expand[]=customer_balance", null, "expand" },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public async Task Bad_create_is_rejected_and_writes_nothing(string form, string? code, string? param)
    {
        using var http = Sim.Raw(fixture);
        var eventsBefore = await CountEventsAsync(http);
        using var response = await http.PostAsync("/v1/payment_intents",
            new StringContent(form, System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        var error = await ErrorAsync(response);
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{response.StatusCode}");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        if (code is not null) Assert.Equal(code, error.GetProperty("code").GetString());
        if (param is not null) Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(eventsBefore, await CountEventsAsync(http));
    }

    [Fact]
    public async Task Metadata_limits_are_stripes()
    {
        using var http = Sim.Raw(fixture);
        var tooMany = Enumerable.Range(0, 51).Select(i => ($"metadata[k{i}]", "v")).Prepend(("currency", "usd")).Prepend(("amount", "100")).ToArray();
        using var r1 = await http.PostAsync("/v1/payment_intents", Sim.Form(tooMany));
        Assert.Equal(HttpStatusCode.BadRequest, r1.StatusCode);
        using var r2 = await http.PostAsync("/v1/payment_intents", Sim.Form(("amount", "100"), ("currency", "usd"), ($"metadata[{new string('k', 41)}]", "v")));
        Assert.Equal(HttpStatusCode.BadRequest, r2.StatusCode);
        using var r3 = await http.PostAsync("/v1/payment_intents", Sim.Form(("amount", "100"), ("currency", "usd"), ("metadata[k]", new string('v', 501))));
        Assert.Equal(HttpStatusCode.BadRequest, r3.StatusCode);
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=101")]
    [InlineData("limit=ten")]
    [InlineData("starting_after=pi_missing")]
    [InlineData("created[since]=5")]
    public async Task Bad_list_parameters_are_rejected(string query)
    {
        using var http = Sim.Raw(fixture);
        using var response = await http.GetAsync("/v1/payment_intents?" + query);
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound);
        await ErrorAsync(response);
    }

    [Theory]
    [InlineData("")]
    [InlineData("sk_live_nope")]
    [InlineData("pk_test_publishable")]
    public async Task Missing_or_wrong_api_key_is_401(string apiKey)
    {
        using var http = Sim.Raw(fixture, apiKey);
        using var response = await http.GetAsync("/v1/payment_intents");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        if (apiKey.Length > 0) Assert.DoesNotContain(apiKey, error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Oversized_body_is_rejected()
    {
        using var http = Sim.Raw(fixture);
        using var response = await http.PostAsync("/v1/payment_intents", Sim.Form(("amount", "100"), ("currency", "usd"), ("description", new string('d', 70_000))));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("/v1/payment_intents/pi_missing")]
    [InlineData("/v1/refunds/re_missing")]
    [InlineData("/v1/events/evt_missing")]
    [InlineData("/v1/balance_transactions/txn_missing")]
    [InlineData("/v1/charges/ch_missing")]
    [InlineData("/v1/customers")]
    public async Task Unknown_object_or_url_is_404(string path)
    {
        using var http = Sim.Raw(fixture);
        using var response = await http.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await ErrorAsync(response);
    }

    [Fact]
    public async Task Refund_of_unknown_intent_is_404_and_missing_target_is_400()
    {
        using var http = Sim.Raw(fixture);
        using var unknown = await http.PostAsync("/v1/refunds", Sim.Form(("payment_intent", "pi_missing")));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var missing = await http.PostAsync("/v1/refunds", Sim.Form(("amount", "100")));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal("parameter_missing", (await ErrorAsync(missing)).GetProperty("code").GetString());
    }

    private static async Task<JsonElement> ErrorAsync(HttpResponseMessage response)
    {
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("error").Clone();
    }

    private static async Task<int> CountEventsAsync(HttpClient http)
    {
        var count = 0;
        string? after = null;
        for (var page = 0; page < 1_000; page++)
        {
            using var doc = JsonDocument.Parse(await http.GetStringAsync("/v1/events?limit=100" + (after is null ? "" : "&starting_after=" + after)));
            var data = doc.RootElement.GetProperty("data");
            count += data.GetArrayLength();
            if (!doc.RootElement.GetProperty("has_more").GetBoolean()) return count;
            after = data[data.GetArrayLength() - 1].GetProperty("id").GetString();
        }
        throw new InvalidOperationException("too many events");
    }
}

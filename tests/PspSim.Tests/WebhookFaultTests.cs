using System.Net.Http.Json;
using System.Text.Json;
using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

public sealed class WebhookFaultTests
{
    [Fact]
    public async Task Duplicate_delivers_the_same_event_N_times_each_signed()
    {
        await using var sim = await WebhookSim.StartAsync();
        var endpoint = await sim.RegisterAsync();
        await sim.AddDeliveryFaultAsync(new { mode = "duplicate", copies = 3, count = 1, event_type = "payment_intent.succeeded" });

        await sim.PayAsync();
        await sim.UntilReceivedAsync("payment_intent.succeeded", 3);
        await sim.UntilReceivedAsync("charge.succeeded");

        var copies = sim.Receiver.Of("payment_intent.succeeded");
        Assert.Single(copies.Select(c => c.EventId).Distinct());
        Assert.All(copies, c => EventUtility.ConstructEvent(c.Body, c.Signature, endpoint.Secret));
        Assert.Single(sim.Receiver.Of("charge.succeeded"));
        // The copies do not count twice: the event is no longer pending once delivered.
        await Eventually.TrueAsync(async () => JsonDocument.Parse(await sim.EventBodyAsync(copies[0].EventId)).RootElement
            .GetProperty("pending_webhooks").GetInt32() == 0, WebhookSim.Deadline, "pending_webhooks 0");
    }

    [Fact]
    public async Task Reorder_holds_an_event_until_a_later_one_was_delivered()
    {
        await using var sim = await WebhookSim.StartAsync();
        await sim.RegisterAsync();
        await sim.AddDeliveryFaultAsync(new { mode = "reorder", count = 1, event_type = "payment_intent.created", release_after = 2 });

        await sim.PayAsync();
        await sim.UntilReceivedAsync("payment_intent.created");

        var order = sim.Receiver.Received.Select(r => r.EventType).ToList();
        Assert.Equal("payment_intent.created", order[^1]);
        Assert.Equal(3, order.Count);
    }

    [Fact]
    public async Task Reorder_releases_what_it_holds_after_max_hold_ms_when_nothing_follows()
    {
        await using var sim = await WebhookSim.StartAsync();
        await sim.RegisterAsync("payment_intent.succeeded");
        await sim.AddDeliveryFaultAsync(new { mode = "reorder", count = 1, release_after = 5, max_hold_ms = 300 });

        await sim.PayAsync();
        await sim.UntilReceivedAsync("payment_intent.succeeded");
    }

    [Fact]
    public async Task Drop_never_delivers_the_event_records_the_drop_and_leaves_it_pending()
    {
        await using var sim = await WebhookSim.StartAsync();
        await sim.RegisterAsync();
        await sim.AddDeliveryFaultAsync(new { mode = "drop", count = 1, event_type = "payment_intent.succeeded" });

        var pi = await sim.PayAsync();
        var succeeded = (await new EventService(sim.Client).ListAsync(new EventListOptions { Type = "payment_intent.succeeded" }))
            .Data.Single(e => ((PaymentIntent)e.Data.Object).Id == pi.Id);
        await Eventually.TrueAsync(async () => (await sim.AttemptsAsync(succeeded.Id)).Count == 1, WebhookSim.Deadline, "the drop recorded");
        await sim.UntilReceivedAsync("charge.succeeded");
        await sim.UntilReceivedAsync("payment_intent.created");

        Assert.Equal("dropped", (await sim.AttemptsAsync(succeeded.Id))[0].GetProperty("outcome").GetString());
        Assert.Empty(sim.Receiver.Of("payment_intent.succeeded"));
        Assert.Equal(1, JsonDocument.Parse(await sim.EventBodyAsync(succeeded.Id)).RootElement.GetProperty("pending_webhooks").GetInt32());
        // The count is spent: the next payment's event is delivered.
        await sim.PayAsync();
        await sim.UntilReceivedAsync("payment_intent.succeeded");
    }

    [Fact]
    public async Task Delay_holds_the_first_attempt_for_delay_ms_while_other_events_go_out()
    {
        await using var sim = await WebhookSim.StartAsync();
        await sim.RegisterAsync();
        await sim.AddDeliveryFaultAsync(new { mode = "delay", delay_ms = 1_000, event_type = "payment_intent.created" });

        var before = DateTimeOffset.UtcNow;
        await sim.PayAsync();
        await sim.UntilReceivedAsync("payment_intent.created");

        var created = sim.Receiver.Of("payment_intent.created").Single();
        // 5 ms of slack for timer and clock granularity (a 1 s timer was seen firing 0.2 ms early); without the delay the
        // event goes out within milliseconds.
        Assert.True(created.At - before >= TimeSpan.FromMilliseconds(995), $"delivered after {(created.At - before).TotalMilliseconds} ms");
        Assert.Equal("payment_intent.created", sim.Receiver.Received[^1].EventType);
    }

    [Fact]
    public async Task Delivery_faults_are_validated_listed_and_cleared_by_reset()
    {
        await using var sim = await WebhookSim.StartAsync();
        using var http = Sim.Raw(sim.Psp, "");
        foreach (var bad in new object[]
        {
            new { mode = "explode" }, new { mode = "delay" }, new { mode = "drop", delay_ms = 5 }, new { mode = "duplicate", copies = 11 },
            new { mode = "drop", probability = 2 },
        })
        {
            using var refused = await http.PostAsJsonAsync("/_sim/webhooks/faults", bad);
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
        }
        await sim.AddDeliveryFaultAsync(new { mode = "drop", probability = 0.5, event_type = "charge.*" });
        var listed = await http.GetFromJsonAsync<JsonElement>("/_sim/webhooks/faults");
        Assert.Equal("charge.*", listed.GetProperty("faults")[0].GetProperty("event_type").GetString());
        await sim.Psp.ResetAsync();
        Assert.Equal(0, (await http.GetFromJsonAsync<JsonElement>("/_sim/webhooks/faults")).GetProperty("faults").GetArrayLength());
    }

    [Fact]
    public async Task A_rolled_secret_signs_with_both_secrets_until_its_expiration()
    {
        await using var sim = await WebhookSim.StartAsync();
        var endpoint = await sim.RegisterAsync("payment_intent.succeeded");
        using var http = Sim.Raw(sim.Psp);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var rolled = await RollAsync(http, endpoint.Id, now + 3_600);
        Assert.NotEqual(endpoint.Secret, rolled);

        await sim.PayAsync();
        await sim.UntilReceivedAsync("payment_intent.succeeded");
        var during = sim.Receiver.Received[^1];
        Assert.Equal(2, during.Signature.Split(',').Count(part => part.StartsWith("v1=")));
        EventUtility.ConstructEvent(during.Body, during.Signature, endpoint.Secret);
        EventUtility.ConstructEvent(during.Body, during.Signature, rolled);

        // Rolled again with the overlap ending now: only the newest secret signs.
        var newest = await RollAsync(http, endpoint.Id, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        await sim.PayAsync();
        await sim.UntilReceivedAsync("payment_intent.succeeded", 2);
        var after = sim.Receiver.Received[^1];
        Assert.Single(after.Signature.Split(','), part => part.StartsWith("v1="));
        EventUtility.ConstructEvent(after.Body, after.Signature, newest);
        Assert.Throws<StripeException>(() => EventUtility.ConstructEvent(after.Body, after.Signature, rolled));
        Assert.Throws<StripeException>(() => EventUtility.ConstructEvent(after.Body, after.Signature, endpoint.Secret));
    }

    private static async Task<string> RollAsync(HttpClient http, string endpointId, long expiration)
    {
        using var response = await http.PostAsync($"/v1/webhook_endpoints/{endpointId}/roll_secret", Sim.Form(("expiration", expiration.ToString())));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(response.IsSuccessStatusCode, body.ToString());
        return body.GetProperty("secret").GetString()!;
    }
}

using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

public sealed class WebhookDeliveryTests
{
    [Fact]
    public async Task Every_event_is_delivered_as_GET_v1_events_answers_it_and_Stripe_net_ConstructEvent_accepts_its_signature()
    {
        await using var sim = await WebhookSim.StartAsync();
        var endpoint = await sim.RegisterAsync();
        Assert.StartsWith("whsec_", endpoint.Secret);
        Assert.Equal(["*"], endpoint.EnabledEvents);

        await sim.PayAsync();
        await sim.UntilReceivedAsync("payment_intent.succeeded");
        await sim.UntilReceivedAsync("charge.succeeded");
        await sim.UntilReceivedAsync("payment_intent.created");

        foreach (var received in sim.Receiver.Received)
        {
            // Stripe.net's own check: signature, 300 s tolerance and the API version of the event.
            var parsed = EventUtility.ConstructEvent(received.Body, received.Signature, endpoint.Secret);
            Assert.Equal(received.EventId, parsed.Id);
            Assert.Throws<StripeException>(() => EventUtility.ConstructEvent(received.Body, received.Signature, "whsec_" + new string('x', 32)));
            Assert.Throws<StripeException>(() => EventUtility.ConstructEvent(received.Body.Replace("\"livemode\":false", "\"livemode\":true"), received.Signature, endpoint.Secret));
            // The body is the event as the API answers it (pending_webhooks aside: it drops to 0 once delivered).
            var delivered = JsonNode.Parse(received.Body)!.AsObject();
            var answered = JsonNode.Parse(await sim.EventBodyAsync(received.EventId))!.AsObject();
            Assert.Equal(1, delivered["pending_webhooks"]!.GetValue<int>());
            delivered.Remove("pending_webhooks");
            answered.Remove("pending_webhooks");
            Assert.True(JsonNode.DeepEquals(delivered, answered), $"{delivered}\n{answered}");
        }
        await Eventually.TrueAsync(async () => JsonDocument.Parse(await sim.EventBodyAsync(sim.Receiver.Of("payment_intent.succeeded")[0].EventId))
            .RootElement.GetProperty("pending_webhooks").GetInt32() == 0, WebhookSim.Deadline, "pending_webhooks back to 0 after the 2xx");
    }

    [Fact]
    public async Task The_first_attempt_goes_out_WebhookFirstAttemptDelayMs_after_its_event()
    {
        await using var sim = await WebhookSim.StartAsync("--PspSim:WebhookFirstAttemptDelayMs=2000");
        await sim.RegisterAsync();

        var before = DateTimeOffset.UtcNow;
        await sim.PayAsync();
        await sim.UntilReceivedAsync("payment_intent.succeeded");

        var succeeded = sim.Receiver.Of("payment_intent.succeeded").Single();
        Assert.True(succeeded.At - before >= TimeSpan.FromMilliseconds(2_000), $"delivered after {(succeeded.At - before).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Only_the_enabled_event_types_are_delivered_and_a_deleted_endpoint_gets_nothing_more()
    {
        await using var sim = await WebhookSim.StartAsync();
        var endpoint = await sim.RegisterAsync("payment_intent.succeeded");
        var first = await sim.PayAsync();
        await sim.UntilReceivedAsync("payment_intent.succeeded");
        Assert.All(sim.Receiver.Received, r => Assert.Equal("payment_intent.succeeded", r.EventType));

        var deleted = await new WebhookEndpointService(sim.Client).DeleteAsync(endpoint.Id);
        Assert.True(deleted.Deleted);
        var second = await sim.PayAsync();
        var events = await new EventService(sim.Client).ListAsync(new EventListOptions { Type = "payment_intent.succeeded" });
        var lastEvent = events.Data.First(e => ((PaymentIntent)e.Data.Object).Id == second.Id);
        Assert.Equal(0, lastEvent.PendingWebhooks);
        Assert.Single(sim.Receiver.Received, r => r.Object.GetProperty("id").GetString() == first.Id);
        Assert.DoesNotContain(sim.Receiver.Received, r => r.Object.GetProperty("id").GetString() == second.Id);
    }

    [Fact]
    public async Task A_non_2xx_answer_is_retried_on_the_compressed_schedule_and_signed_afresh_until_the_endpoint_answers_2xx()
    {
        await using var sim = await WebhookSim.StartAsync();
        var endpoint = await sim.RegisterAsync("payment_intent.succeeded");
        sim.Receiver.Answer = r => r.Index <= 2 ? 500 : 200;

        await sim.PayAsync();
        await sim.UntilReceivedAsync("payment_intent.succeeded", 3);

        var eventId = sim.Receiver.Received[0].EventId;
        Assert.All(sim.Receiver.Received, r => Assert.Equal(eventId, r.EventId));
        Assert.All(sim.Receiver.Received, r => EventUtility.ConstructEvent(r.Body, r.Signature, endpoint.Secret));
        await Eventually.TrueAsync(async () => (await sim.AttemptsAsync(eventId)).Count == 3, WebhookSim.Deadline, "three attempts recorded");
        var attempts = await sim.AttemptsAsync(eventId);
        Assert.Equal([(1, 500, "failed"), (2, 500, "failed"), (3, 200, "delivered")],
            attempts.Select(a => (a.GetProperty("attempt").GetInt32(), a.GetProperty("status").GetInt32(), a.GetProperty("outcome").GetString()!)));
        // 1 min and 5 min × 0.0005.
        Assert.Equal([30L, 150L], attempts.Take(2).Select(a => a.GetProperty("next_attempt_in_ms").GetInt64()));
        Assert.Equal(endpoint.Id, attempts[0].GetProperty("endpoint").GetString());
        Assert.Equal("HTTP 500", attempts[0].GetProperty("error").GetString());
    }

    [Fact]
    public async Task An_endpoint_that_does_not_answer_within_the_timeout_is_retried()
    {
        await using var sim = await WebhookSim.StartAsync("--PspSim:WebhookTimeoutMs=400");
        await sim.RegisterAsync("payment_intent.succeeded");
        sim.Receiver.Answer = r => r.Index == 1 ? null : 200;

        await sim.PayAsync();
        await sim.UntilReceivedAsync("payment_intent.succeeded", 2);

        var eventId = sim.Receiver.Received[0].EventId;
        await Eventually.TrueAsync(async () => (await sim.AttemptsAsync(eventId)).Any(a => a.GetProperty("outcome").GetString() == "delivered"),
            WebhookSim.Deadline, "an attempt delivered");
        var attempts = await sim.AttemptsAsync(eventId);
        Assert.Equal("no answer within 400 ms", attempts[0].GetProperty("error").GetString());
        Assert.Equal(JsonValueKind.Null, attempts[0].GetProperty("status").ValueKind);
        Assert.Equal("delivered", attempts[^1].GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task Attempts_stop_at_WebhookMaxAttempts_and_the_event_stays_pending()
    {
        await using var sim = await WebhookSim.StartAsync("--PspSim:WebhookMaxAttempts=3");
        await sim.RegisterAsync("payment_intent.succeeded");
        sim.Receiver.Answer = _ => 503;

        await sim.PayAsync();
        await sim.UntilReceivedAsync("payment_intent.succeeded", 3);
        var eventId = sim.Receiver.Received[0].EventId;
        await Eventually.TrueAsync(async () => (await sim.AttemptsAsync(eventId)).Any(a => a.GetProperty("gave_up").GetBoolean()),
            WebhookSim.Deadline, "the delivery given up");

        Assert.Equal(3, (await sim.AttemptsAsync(eventId)).Count);
        Assert.Equal(1, JsonDocument.Parse(await sim.EventBodyAsync(eventId)).RootElement.GetProperty("pending_webhooks").GetInt32());
    }

    [Fact]
    public async Task Webhook_endpoints_and_their_secrets_survive_a_restart()
    {
        await using var sim = await WebhookSim.StartAsync();
        var kept = await sim.RegisterAsync("payment_intent.succeeded");
        var removed = await sim.RegisterAsync("charge.succeeded");
        await new WebhookEndpointService(sim.Client).DeleteAsync(removed.Id);

        await sim.Psp.RestartAsync();

        var listed = await new WebhookEndpointService(sim.Client).ListAsync();
        Assert.Equal([kept.Id], listed.Data.Select(e => e.Id));
        Assert.Null(listed.Data[0].Secret);
        var notFound = await Assert.ThrowsAsync<StripeException>(() => new WebhookEndpointService(sim.Client).GetAsync(removed.Id));
        Assert.Equal(HttpStatusCode.NotFound, notFound.HttpStatusCode);
        await sim.PayAsync();
        await sim.UntilReceivedAsync("payment_intent.succeeded");
        var received = sim.Receiver.Received.Single();
        EventUtility.ConstructEvent(received.Body, received.Signature, kept.Secret);
    }

    [Fact]
    public async Task Webhook_endpoints_survive_compaction_into_a_snapshot_and_a_restart()
    {
        await using var sim = await WebhookSim.StartAsync("--PspSim:MaxJournalBytes=16384");
        var kept = await sim.RegisterAsync("payment_intent.succeeded");
        var removed = await sim.RegisterAsync("charge.succeeded");
        await new WebhookEndpointService(sim.Client).DeleteAsync(removed.Id);
        for (var i = 0; i < 20; i++) await sim.PayAsync(100 + i);
        await Eventually.TrueAsync(() => Directory.EnumerateFiles(sim.Psp.DataDir, "snapshot.*.jsonl").Any(), WebhookSim.Deadline, "the journal passed its bound");

        await sim.Psp.RestartAsync();

        Assert.Empty(Directory.EnumerateFiles(sim.Psp.DataDir, PspSim.Storage.JournalFiles.FirstJournal));
        Assert.Equal([kept.Id], (await new WebhookEndpointService(sim.Client).ListAsync()).Data.Select(e => e.Id));
        var before = sim.Receiver.Received.Count;
        await sim.PayAsync();
        await sim.UntilReceivedAsync("payment_intent.succeeded", before + 1);
        var received = sim.Receiver.Received[^1];
        EventUtility.ConstructEvent(received.Body, received.Signature, kept.Secret);
    }

    [Fact]
    public async Task A_bad_webhook_endpoint_is_refused_and_nothing_is_created()
    {
        await using var sim = await WebhookSim.StartAsync();
        using var http = Sim.Raw(sim.Psp);
        foreach (var form in new[]
        {
            Sim.Form(("enabled_events[]", "*")),
            Sim.Form(("url", "ftp://example.com/hook"), ("enabled_events[]", "*")),
            Sim.Form(("url", sim.Receiver.Url)),
            Sim.Form(("url", sim.Receiver.Url), ("enabled_events[]", "Not An Event")),
            Sim.Form(("url", sim.Receiver.Url), ("enabled_events[]", "*"), ("api_version", "2020-08-27")),
        })
        {
            using var response = await http.PostAsync("/v1/webhook_endpoints", form);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
        Assert.Empty((await new WebhookEndpointService(sim.Client).ListAsync()).Data);
    }
}

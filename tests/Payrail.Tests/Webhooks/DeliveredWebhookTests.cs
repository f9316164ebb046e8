using System.Globalization;
using System.Text.Json;
using Npgsql;
using Payrail.DevEnvironment;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Webhooks;

/// <summary>
/// pspsim delivering real webhooks to the API's receiver, registered as `payrail up` registers it: no test signs or
/// posts an event here, so pspsim's delivery (with its retries and delivery faults) is the only path to each final state.
/// </summary>
public sealed class DeliveredWebhookTests(DeliveredWebhookFixture api) : IClassFixture<DeliveredWebhookFixture>, IAsyncLifetime
{
    private const string Captured = "-initiated,initiated-processing,processing-authorized,authorized-captured";
    private const string CapturedEvents = "payment.initiated,payment.authorized,payment.captured,payment.completed";
    private const string Failed = "-initiated,initiated-processing,processing-failed";
    private const string FailedEvents = "payment.initiated,payment.failed";

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Each test leaves nothing in flight, so no late delivery of its events reaches the next test.</summary>
    public async Task DisposeAsync()
    {
        await api.UntilDeliveredAsync();
        using var clear = new HttpClient { BaseAddress = new Uri(api.PspSim.BaseUrl) };
        (await clear.DeleteAsync("/_sim/webhooks/faults")).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Registration_subscribes_the_receiver_to_the_events_it_acts_on_and_keeps_the_secret()
    {
        using var psp = PspClient();
        using var listed = JsonDocument.Parse(await psp.GetStringAsync("/v1/webhook_endpoints"));
        var endpoint = Assert.Single(listed.RootElement.GetProperty("data").EnumerateArray());

        Assert.Equal(api.ReceiverUrl, endpoint.GetProperty("url").GetString());
        Assert.Equal(Payrail.Webhooks.PspWebhookReceiver.HandledEventTypes.Order(StringComparer.Ordinal),
            endpoint.GetProperty("enabled_events").EnumerateArray().Select(e => e.GetString()!).Order(StringComparer.Ordinal));
        Assert.StartsWith("whsec_", api.Secret);
        Assert.Contains("registered", api.RegistrationLog);
        Assert.DoesNotContain(api.Secret, api.RegistrationLog);
        Assert.Equal(api.Secret, api.Secrets.TryRead(WebhookRegistration.SecretName));
    }

    [Fact]
    public async Task A_second_registration_reuses_the_endpoint_and_its_kept_secret()
    {
        using var log = new StringWriter();

        var secret = await WebhookRegistration.EnsureAsync(api.PspSim.BaseUrl, api.PspSim.ApiKey, api.ReceiverUrl, api.Secrets, log, CancellationToken.None);

        Assert.Equal(api.Secret, secret);
        Assert.Contains("reused", log.ToString());
        using var psp = PspClient();
        using var listed = JsonDocument.Parse(await psp.GetStringAsync("/v1/webhook_endpoints"));
        Assert.Single(listed.RootElement.GetProperty("data").EnumerateArray());
    }

    [Fact]
    public async Task A_3DS_payment_approved_on_the_PSP_page_is_captured_by_webhook_and_shows_next_action_until_then()
    {
        var (answer, intent, token) = await api.PayAsync("pm_card_authenticationRequired");

        Assert.Equal((202, "processing"), (answer.Status, answer.PaymentStatus));
        var url = answer.Json.GetProperty("next_action").GetProperty("url").GetString()!;
        Assert.Equal("redirect_to_url", answer.Json.GetProperty("next_action").GetProperty("type").GetString());
        Assert.Equal($"{api.PspSim.BaseUrl}/_sim/3ds/{intent}", url);
        using var browser = new HttpClient();
        Assert.Contains("Approve", await browser.GetStringAsync(url));
        // pspsim's requires_action event reaches the receiver and changes nothing: the page still waits.
        await Eventually.TrueAsync(async () => await api.ScalarAsync(
            "SELECT count(*) FROM psp_webhook_events WHERE payment_id = @id AND event_type = 'payment_intent.requires_action'",
            ("id", answer.PaymentId)) == 1, DeliveredWebhookFixture.Deadline, "requires_action is delivered");
        var waiting = await api.GetAsync($"/v1/payments/{answer.PaymentId}", token);
        Assert.Equal(("processing", url), (waiting.PaymentStatus, waiting.Json.GetProperty("next_action").GetProperty("url").GetString()));

        // The buyer clicks Approve: the page's form posts outcome=approve and pspsim sends the browser back to the API's page.
        using var clicked = await browser.PostAsync(url, new FormUrlEncodedContent([new("outcome", "approve")]));
        var back = await clicked.Content.ReadAsStringAsync();
        Assert.Equal(api.BaseUrl + "/payments/return", clicked.RequestMessage!.RequestUri!.GetLeftPart(UriPartial.Path));
        Assert.Contains("authentication <strong>succeeded</strong> for <code>" + intent + "</code>", back);

        await api.UntilStatusAsync(answer.PaymentId, "captured");
        var resolved = await api.GetAsync($"/v1/payments/{answer.PaymentId}", token);
        Assert.Equal("captured", resolved.PaymentStatus);
        Assert.False(resolved.Json.TryGetProperty("next_action", out _));
        await AssertBooksAsync(answer.PaymentId, Captured, CapturedEvents, transfers: 1);
    }

    [Fact]
    public async Task A_3DS_payment_failed_on_the_PSP_page_fails_by_webhook_and_moves_no_money()
    {
        var (answer, intent, token) = await api.PayAsync("pm_card_authenticationRequired");
        Assert.Equal((202, "processing"), (answer.Status, answer.PaymentStatus));
        Assert.True(answer.Json.TryGetProperty("next_action", out _));

        await api.PspSim.CompleteThreeDSecureAsync(intent, approve: false);

        await api.UntilStatusAsync(answer.PaymentId, "failed");
        var resolved = await api.GetAsync($"/v1/payments/{answer.PaymentId}", token);
        Assert.Equal("failed", resolved.PaymentStatus);
        Assert.False(resolved.Json.TryGetProperty("next_action", out _));
        await AssertBooksAsync(answer.PaymentId, Failed, FailedEvents, transfers: 0);
    }

    [Theory]
    [InlineData("pm_card_async_success", "captured")]
    [InlineData("pm_card_async_declined", "failed")]
    public async Task An_async_card_answered_processing_reaches_the_banks_answer_by_webhook_alone(string card, string final)
    {
        var (answer, _, _) = await api.PayAsync(card);

        Assert.Equal((202, "processing"), (answer.Status, answer.PaymentStatus));
        Assert.False(answer.Json.TryGetProperty("next_action", out _));
        await api.UntilStatusAsync(answer.PaymentId, final);
        if (final == "captured") await AssertBooksAsync(answer.PaymentId, Captured, CapturedEvents, transfers: 1);
        else await AssertBooksAsync(answer.PaymentId, Failed, FailedEvents, transfers: 0);
    }

    [Fact]
    public async Task The_success_event_delivered_five_times_moves_the_payment_once_and_every_copy_is_answered_200()
    {
        await api.PspSim.AddDeliveryFaultAsync(new { mode = "duplicate", copies = 5, count = 1, event_type = "payment_intent.succeeded" });
        var (answer, intent, _) = await api.PayAsync("pm_card_authenticationRequired");
        var duplicatesBefore = await ReceivedAsync("duplicate");

        await api.PspSim.CompleteThreeDSecureAsync(intent);

        await api.UntilStatusAsync(answer.PaymentId, "captured");
        await api.UntilDeliveredAsync();
        var copies = await api.AttemptsAsync(intent, "payment_intent.succeeded");
        // The original (copy 0) and four copies, each answered 200 at its first attempt: a duplicate is an answer, not an error pspsim must retry.
        Assert.Equal([0, 1, 2, 3, 4], copies.Select(a => a.GetProperty("copy").GetInt32()).Order());
        Assert.All(copies, a => Assert.Equal((1, 200), (a.GetProperty("attempt").GetInt32(), a.GetProperty("status").GetInt32())));
        // At least four: the counter is the whole receiver's and /metrics answers from a scrape cached up to 300 ms, so
        // the baseline above may miss an earlier test's last duplicate (a full CI run once timed out on exactly four).
        // That each copy stored nothing is asserted exactly below: one recorded event, applied once.
        await Eventually.TrueAsync(async () => await ReceivedAsync("duplicate") - duplicatesBefore >= 4,
            DeliveredWebhookFixture.Deadline, "four copies are counted as duplicates");
        var eventId = Assert.Single(await api.EventIdsAsync(intent, "payment_intent.succeeded"));
        Assert.Equal("applied", await api.TextAsync("SELECT string_agg(outcome, ',') FROM psp_webhook_events WHERE event_id = @e", ("e", eventId)));
        await AssertBooksAsync(answer.PaymentId, Captured, CapturedEvents, transfers: 1);
    }

    [Fact]
    public async Task Events_delivered_newest_first_reach_the_same_state_as_in_order()
    {
        // requires_action is held until a later delivery (the success) has gone out: this payment's events arrive reversed.
        await api.PspSim.AddDeliveryFaultAsync(new
        {
            mode = "reorder", count = 1, event_type = "payment_intent.requires_action", release_after = 1, max_hold_ms = 60_000,
        });
        var (answer, intent, _) = await api.PayAsync("pm_card_authenticationRequired");
        Assert.Equal((202, "processing"), (answer.Status, answer.PaymentStatus));

        await api.PspSim.CompleteThreeDSecureAsync(intent);

        await api.UntilStatusAsync(answer.PaymentId, "captured");
        await api.UntilDeliveredAsync();
        var succeeded = Assert.Single(await api.AttemptsAsync(intent, "payment_intent.succeeded"));
        var requiresAction = Assert.Single(await api.AttemptsAsync(intent, "payment_intent.requires_action"));
        Assert.True(succeeded.GetProperty("at_ms").GetInt64() <= requiresAction.GetProperty("at_ms").GetInt64(), "the success went out first");
        Assert.Equal(200, requiresAction.GetProperty("status").GetInt32());
        Assert.Equal("stale", await api.TextAsync(
            "SELECT outcome FROM psp_webhook_events WHERE payment_id = @id AND event_type = 'payment_intent.requires_action'", answer.PaymentId));
        await AssertBooksAsync(answer.PaymentId, Captured, CapturedEvents, transfers: 1);
    }

    [Fact]
    public async Task A_500_from_the_receiver_is_delivered_again_by_pspsim_and_the_event_applies_once()
    {
        var (answer, intent, _) = await api.PayAsync("pm_card_authenticationRequired");
        // The database refuses this payment's success event twice, inside the receiver's transaction: nothing commits, 500.
        var fault = "test_refuse_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync($"""
            CREATE SEQUENCE {fault};
            CREATE FUNCTION {fault}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('{fault}') <= 2 THEN RAISE EXCEPTION 'test: the database refuses this webhook'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER {fault} BEFORE INSERT ON psp_webhook_events FOR EACH ROW
                WHEN (NEW.payment_id = '{answer.PaymentId}' AND NEW.event_type = 'payment_intent.succeeded') EXECUTE FUNCTION {fault}();
            """);
        try
        {
            await api.PspSim.CompleteThreeDSecureAsync(intent);

            await api.UntilStatusAsync(answer.PaymentId, "captured");
            await api.UntilDeliveredAsync();
        }
        finally
        {
            await ExecuteAsync($"DROP TRIGGER {fault} ON psp_webhook_events; DROP FUNCTION {fault}(); DROP SEQUENCE {fault};");
        }
        var attempts = await api.AttemptsAsync(intent, "payment_intent.succeeded");
        Assert.Equal([(1, 500), (2, 500), (3, 200)], attempts.Select(a => (a.GetProperty("attempt").GetInt32(), a.GetProperty("status").GetInt32())));
        Assert.Equal("applied", await api.TextAsync(
            "SELECT string_agg(outcome, ',') FROM psp_webhook_events WHERE payment_id = @id AND event_type = 'payment_intent.succeeded'", answer.PaymentId));
        await AssertBooksAsync(answer.PaymentId, Captured, CapturedEvents, transfers: 1);
    }

    /// <summary>One transition per step, one outbox event per transition, the ledger transfers expected, and balanced books.</summary>
    private async Task AssertBooksAsync(Guid payment, string transitions, string outbox, int transfers)
    {
        Assert.Equal(transitions, await api.TransitionsAsync(payment));
        Assert.Equal(outbox, await api.OutboxAsync(payment));
        Assert.Equal(transfers, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", payment)));
        await api.AssertBooksBalanceAsync();
    }

    /// <summary>The receiver's count of authentic deliveries with <paramref name="outcome"/> (management listener's /metrics).</summary>
    private async Task<long> ReceivedAsync(string outcome)
    {
        var lines = (await api.ManagementHttp.GetStringAsync("/metrics")).Split('\n');
        return lines.Where(l => l.StartsWith("payrail_webhooks_received", StringComparison.Ordinal) && l.Contains($"outcome=\"{outcome}\""))
            .Sum(l => long.Parse(l[(l.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private HttpClient PspClient()
    {
        var http = new HttpClient { BaseAddress = new Uri(api.PspSim.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", api.PspSim.ApiKey);
        return http;
    }
}

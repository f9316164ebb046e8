using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Payrail.Auth;
using Payrail.Dashboard;
using Payrail.DevEnvironment;
using Payrail.Testing;
using Payrail.Tests.Payments;
using Xunit;

namespace Payrail.Tests.Dashboard;

/// <summary>
/// The dashboard over HTTP against the real pipeline (API → outbox → relay → devkafka → merchant-dashboard consumer →
/// stream log → /stream): the stream's authorization, resumption by Last-Event-ID, merchant isolation, sessions, the
/// 404 for another merchant's payment, and the streamed CSV export.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardHttpTests(DashboardStack stack)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    /// <summary>An automatically captured payment's events: initiated, authorized, captured, completed.</summary>
    private const int EventsPerPayment = 4;

    [Fact]
    public async Task A_stream_request_without_a_session_is_401_and_a_page_without_one_goes_to_sign_in()
    {
        using var anonymous = stack.DashboardClient(token: null);

        using var stream = await anonymous.GetAsync("/stream");
        using var page = await anonymous.GetAsync("/payments");
        var expiredToken = DevTokens.Issue(stack.Auth, Roles.Merchant, "u_expired", PaymentsApiFixture.MerchantId, TimeSpan.FromMinutes(1),
            DateTimeOffset.UtcNow.AddMinutes(-10));
        using var expired = stack.DashboardClient(expiredToken);
        using var expiredPage = await expired.GetAsync("/payments");
        using var expiredStream = await expired.GetAsync("/stream");

        Assert.Equal(401, (int)stream.StatusCode);
        Assert.Equal((302, "/signin"), ((int)page.StatusCode, page.Headers.Location?.ToString()));
        Assert.Equal((302, "/signin"), ((int)expiredPage.StatusCode, expiredPage.Headers.Location?.ToString()));
        Assert.Equal(401, (int)expiredStream.StatusCode);
    }

    [Fact]
    public async Task A_stream_resumed_with_Last_Event_ID_sends_exactly_the_missed_rows_in_order_then_live_ones()
    {
        const string merchant = "m_resume";
        await stack.AddMerchantAsync(merchant, "Resume");
        await stack.PayAsync(merchant);
        var cut = (await stack.UntilLoggedAsync(merchant, EventsPerPayment))[^1].Seq;
        // Missed while disconnected: two payments, four log rows each.
        var missed = new[] { await stack.PayAsync(merchant, 500), await stack.PayAsync(merchant, 700) };
        var log = await stack.UntilLoggedAsync(merchant, 3 * EventsPerPayment);

        using var client = stack.DashboardClient(stack.MerchantToken(merchant));
        await using var stream = await SseReader.OpenAsync(client, "/stream", lastEventId: cut.ToString(CultureInfo.InvariantCulture));
        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType?.MediaType);
        var replayed = await stream.PaymentsUntilAsync(log[^1].Seq, Deadline);

        Assert.Equal(log.Where(r => r.Seq > cut).Select(r => r.Seq), replayed.Select(e => long.Parse(e.Id!)));
        Assert.Equal(missed.ToHashSet(), replayed.Select(e => PaymentOf(e)).ToHashSet());
        // Then live: a payment made now arrives next, with the next number.
        var live = await stack.PayAsync(merchant, 900);
        var next = await stream.NextAsync(Deadline);
        while (next.Type == "ping") next = await stream.NextAsync(Deadline);
        Assert.Equal(live, PaymentOf(next));
        Assert.True(long.Parse(next.Id!) > log[^1].Seq);
    }

    [Fact]
    public async Task A_merchants_stream_never_carries_another_merchants_rows()
    {
        const string mine = "m_iso_a", theirs = "m_iso_b";
        await stack.AddMerchantAsync(mine, "Mine");
        await stack.AddMerchantAsync(theirs, "Theirs");
        using var client = stack.DashboardClient(stack.MerchantToken(mine));
        await using var stream = await SseReader.OpenAsync(client, "/stream");
        var ping = await stream.NextAsync(Deadline);
        Assert.Equal("ping", ping.Type);

        var other = await stack.PayAsync(theirs);
        await stack.UntilDashboardStatusAsync(other, "captured");
        var own = await stack.PayAsync(mine);
        var last = (await stack.UntilLoggedAsync(mine, EventsPerPayment))[^1].Seq;
        var events = await stream.PaymentsUntilAsync(last, Deadline);

        // The other merchant's payment committed first, yet only this merchant's rows came, and all of them.
        Assert.All(events, e => Assert.Equal(own, PaymentOf(e)));
        Assert.Equal((await stack.StreamLogAsync(mine)).Select(r => r.Seq), events.Select(e => long.Parse(e.Id!)));
    }

    [Fact]
    public async Task Another_merchants_payment_is_404_and_the_merchants_own_is_shown_with_its_audit_trail()
    {
        var payment = await stack.PayAsync(PaymentsApiFixture.MerchantId, 1234);
        using var owner = stack.DashboardClient(stack.MerchantToken(PaymentsApiFixture.MerchantId));
        using var other = stack.DashboardClient(stack.MerchantToken(PaymentsApiFixture.OtherMerchantId));

        using var shown = await owner.GetAsync($"/payments/{payment}");
        using var hidden = await other.GetAsync($"/payments/{payment}");
        using var nonsense = await owner.GetAsync("/payments/not-a-payment");
        var html = await shown.Content.ReadAsStringAsync();

        Assert.Equal(200, (int)shown.StatusCode);
        Assert.Contains("12.34 USD", html);
        Assert.Contains("authorized", html);
        Assert.Contains("<section id=\"transfers\">", html);
        Assert.Equal(404, (int)hidden.StatusCode);
        Assert.DoesNotContain(payment.ToString(), await hidden.Content.ReadAsStringAsync());
        Assert.Equal(404, (int)nonsense.StatusCode);
    }

    [Fact]
    public async Task A_mutating_form_without_its_anti_forgery_token_is_refused_and_sends_nothing()
    {
        var payment = await stack.PayAsync(PaymentsApiFixture.MerchantId, 600, capture: "manual");
        using var anonymous = stack.DashboardClient(token: null);
        using var signedIn = stack.DashboardClient(stack.MerchantToken(PaymentsApiFixture.MerchantId));

        using var signIn = await anonymous.PostAsync("/signin/dev", new FormUrlEncodedContent([new("merchant_id", PaymentsApiFixture.MerchantId)]));
        using var voided = await signedIn.PostAsync($"/payments/{payment}/void",
            new FormUrlEncodedContent([new("idempotency_key", Guid.NewGuid().ToString())]));

        Assert.Equal(400, (int)signIn.StatusCode);
        Assert.False(signIn.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith(DashboardSession.CookieName)));
        Assert.Equal(400, (int)voided.StatusCode);
        Assert.Contains("The form expired", await voided.Content.ReadAsStringAsync());
        Assert.Equal("authorized", await stack.TextAsync("SELECT status FROM payments WHERE id = @id", payment));
    }

    [Fact]
    public async Task Development_sign_in_is_refused_when_the_dashboard_does_not_use_the_development_key()
    {
        var settings = stack.DashboardSettings();
        settings["Dashboard:Urls"] = $"http://127.0.0.1:{FreePort.Next()}";
        settings["Auth:SigningKey"] = new string('k', 40);
        await using var production = DashboardHost.Build(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(),
            devSecrets: new DevSecrets(Path.Combine(Path.GetTempPath(), "payrail-no-dev-" + Guid.NewGuid().ToString("N"))));
        await production.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(settings["Dashboard:Urls"]!) };

        var page = await client.GetStringAsync("/signin");
        using var minted = await client.PostAsync("/signin/dev", new FormUrlEncodedContent([new("merchant_id", PaymentsApiFixture.MerchantId)]));

        Assert.DoesNotContain("/signin/dev", page);
        Assert.Contains("With a token", page);
        Assert.Equal(403, (int)minted.StatusCode);
        Assert.False(minted.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith(DashboardSession.CookieName)));
        await production.StopAsync();
    }

    [Fact]
    public async Task The_CSV_export_streams_100000_rows_without_holding_them()
    {
        const string merchant = "m_export";
        const int rows = 100_000;
        await stack.AddMerchantAsync(merchant, "Export");
        await using (var insert = stack.Database.CreateCommand("""
            INSERT INTO payments (id, merchant_id, buyer_id, amount_minor, currency, status, amount_captured_minor, psp, psp_reference,
                                  payment_method, created_at, updated_at)
            SELECT gen_random_uuid(), @m, 'b_' || i, 100 + i, 'EUR', 'captured', 100 + i, 'stripe', 'pi_export_' || i, 'pm_card_visa',
                   now() - make_interval(secs => i), now()
            FROM generate_series(1, @rows) AS i
            """))
        {
            insert.Parameters.AddWithValue("m", merchant);
            insert.Parameters.AddWithValue("rows", rows);
            await insert.ExecuteNonQueryAsync();
        }
        var export = stack.DashboardServices.GetRequiredService<CsvExport>();
        var before = export.RowsWritten;
        using var client = stack.DashboardClient(stack.MerchantToken(merchant));
        using var response = await client.GetAsync("/payments/export.csv?currency=EUR", HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(body);

        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Null(response.Content.Headers.ContentLength);
        Assert.Equal(CsvExport.Header, await reader.ReadLineAsync());
        var newest = await reader.ReadLineAsync();
        // Streamed with backpressure: while this client holds off after one row, the server cannot have written them all
        // (rows are ~170 bytes: 17 MB, more than the socket and Kafka-free pipe buffers between us hold).
        var writtenWhileWaiting = export.RowsWritten - before;
        var count = 1;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length > 0) count++;
        }

        Assert.StartsWith(",", newest![36..]);
        Assert.Contains(",captured,1.01,EUR,101,101,0,b_1,pi_export_1,pm_card_visa", newest);
        Assert.Equal(rows, count);
        Assert.True(writtenWhileWaiting < rows, $"the export had written all {writtenWhileWaiting} rows before the client read on");
        Assert.Equal(rows, export.RowsWritten - before);
    }

    [Fact]
    public async Task The_ops_view_shows_its_sections_in_order_to_ops_and_refuses_a_merchant()
    {
        using var ops = stack.DashboardClient(stack.Token(Roles.Ops, "ops_dash"));
        using var merchant = stack.DashboardClient(stack.MerchantToken(PaymentsApiFixture.MerchantId));

        long run;
        await using (var insert = stack.Database.CreateCommand("""
            WITH run AS (
                INSERT INTO reconciliation_runs (psp, window_from, window_to, trigger, dry_run, status, started_at, finished_at,
                                                 psp_lines, items, buckets, breaks, result_hash)
                VALUES ('stripe', '2026-11-29', '2026-11-30', 'once', false, 'completed', now(), now(), 3, 3,
                        '{"matched": 2, "missing_at_psp": 1}', 1, repeat('a', 64))
                RETURNING id),
            item AS (
                INSERT INTO reconciliation_items (run_id, n, match_key, bucket, reason, payment_id, currency, payrail_amount_minor)
                SELECT id, 1, 'pi_ops_view|charge', 'missing_at_psp', 'captured in Payrail, no charge at the PSP', gen_random_uuid(), 'EUR', 500 FROM run)
            INSERT INTO reconciliation_alerts (psp, match_key, bucket, run_id, event_id, raised_at)
            SELECT 'stripe', 'pi_ops_view|charge', 'missing_at_psp', id, gen_random_uuid(), now() FROM run
            RETURNING run_id
            """))
            run = (long)(await insert.ExecuteScalarAsync())!;

        using var page = await ops.GetAsync("/ops");
        using var refused = await merchant.GetAsync("/ops");
        var html = await page.Content.ReadAsStringAsync();

        Assert.Equal(200, (int)page.StatusCode);
        Assert.Equal(403, (int)refused.StatusCode);
        var sections = new[] { "id=\"consumers\"", "id=\"stuck-payments\"", "id=\"reconciliation\"" }.Select(id => html.IndexOf(id, StringComparison.Ordinal)).ToList();
        Assert.All(sections, at => Assert.True(at >= 0, html));
        Assert.Equal(sections.Order(), sections);
        Assert.Contains("<td>merchant-dashboard</td>", html);
        Assert.Contains("id=\"stuck-count\"", html);
        Assert.Contains("id=\"dlq\"", html);
        Assert.Contains($"<tr data-id=\"{run}\" data-status=\"completed\">", html);
        Assert.Contains("<td>missing_at_psp</td><td>pi_ops_view|charge</td><td>captured in Payrail, no charge at the PSP</td>", html);
    }

    private static Guid PaymentOf(SseEvent e) => JsonDocument.Parse(e.Data).RootElement.GetProperty("payment_id").GetGuid();
}

using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Payrail.Dashboard;
using Payrail.Testing;
using Payrail.Tests.Payments;
using Xunit;

namespace Payrail.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Debian's chromium) against the real API, worker, PostgreSQL, devkafka and pspsim:
/// sign-in, live rows, a cut stream catching up, merchant isolation, the list's filters, and the page's weight and width.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardBrowserTests(DashboardStack stack, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private const float WaitMs = 30_000;

    [Fact]
    public async Task A_merchant_signs_in_and_a_new_payment_appears_on_the_page_within_a_second_of_its_commit()
    {
        await using var context = await browser.NewContextAsync();
        var page = await SignInAsync(context, PaymentsApiFixture.MerchantId);

        var cookies = await context.CookiesAsync();
        var session = Assert.Single(cookies, c => c.Name == DashboardSession.CookieName);
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);
        Assert.DoesNotContain(session.Value, page.Url);

        var payment = await stack.PayAsync(PaymentsApiFixture.MerchantId, 4250);
        var committed = Stopwatch.StartNew(); // the API answers 201 after its transaction committed
        await page.WaitForSelectorAsync($"tr[data-id='{payment}']", new PageWaitForSelectorOptions { Timeout = WaitMs });
        var visibleAfter = committed.Elapsed;
        await page.WaitForSelectorAsync($"tr[data-id='{payment}'][data-status='captured']", new PageWaitForSelectorOptions { Timeout = WaitMs });

        Assert.True(visibleAfter < TimeSpan.FromSeconds(1), $"the row appeared {visibleAfter.TotalMilliseconds:0} ms after the commit");
        Assert.Equal("42.50 USD", await page.TextContentAsync($"tr[data-id='{payment}'] [data-col=amount]"));
        await BrowserFixture.ScreenshotAsync(page, "payments");
    }

    [Fact]
    public async Task A_payment_that_moves_changes_its_row_live_without_a_reload()
    {
        await using var context = await browser.NewContextAsync();
        var page = await SignInAsync(context, PaymentsApiFixture.MerchantId);
        var payment = await stack.PayAsync(PaymentsApiFixture.MerchantId, 900, capture: "manual");
        await page.WaitForSelectorAsync($"tr[data-id='{payment}'][data-status='authorized']", new PageWaitForSelectorOptions { Timeout = WaitMs });
        await page.EvaluateAsync("() => { window.sameDocument = true; }");

        await stack.CaptureThroughTransitionsAsync(payment);

        await page.WaitForSelectorAsync($"tr[data-id='{payment}'][data-status='captured']", new PageWaitForSelectorOptions { Timeout = WaitMs });
        Assert.True(await page.EvaluateAsync<bool>("() => window.sameDocument === true"));
    }

    [Fact]
    public async Task A_cut_stream_reconnects_and_catches_up_with_exactly_the_rows_it_missed()
    {
        const string merchant = "m_cut";
        await stack.AddMerchantAsync(merchant, "Cut");
        await using var context = await browser.NewContextAsync();
        var page = await SignInAsync(context, merchant);
        var before = await stack.PayAsync(merchant, 100);
        await page.WaitForSelectorAsync($"tr[data-id='{before}'][data-status='captured']", new PageWaitForSelectorOptions { Timeout = WaitMs });

        // Cut: the server drops the connection and the browser's reconnects fail until the network is back.
        await page.RouteAsync("**/stream**", route => route.AbortAsync());
        stack.DashboardServices.GetRequiredService<DashboardStream>().AbortAll();
        await page.WaitForSelectorAsync("#live[data-state='reconnecting']", new PageWaitForSelectorOptions { Timeout = WaitMs });
        var missed = new List<Guid>();
        for (var i = 0; i < 3; i++) missed.Add(await stack.PayAsync(merchant, 200 + i));
        foreach (var id in missed) await stack.UntilDashboardStatusAsync(id, "captured");
        Assert.Equal(0, await page.Locator($"tr[data-id='{missed[0]}']").CountAsync());

        await page.UnrouteAsync("**/stream**");
        foreach (var id in missed)
            await page.WaitForSelectorAsync($"tr[data-id='{id}'][data-status='captured']", new PageWaitForSelectorOptions { Timeout = WaitMs });

        var log = (await stack.StreamLogAsync(merchant)).Select(r => r.Seq).ToList();
        var seen = await page.EvaluateAsync<long[]>("() => window.payrailSeen");
        Assert.Equal(log, seen); // every row once, in order: none lost across the cut, none twice
        foreach (var id in missed.Append(before)) Assert.Equal(1, await page.Locator($"tr[data-id='{id}']").CountAsync());
    }

    [Fact]
    public async Task A_second_merchant_signed_in_elsewhere_never_sees_the_first_ones_rows()
    {
        await using var first = await browser.NewContextAsync();
        await using var second = await browser.NewContextAsync();
        var mine = await SignInAsync(first, PaymentsApiFixture.MerchantId);
        var theirs = await SignInAsync(second, PaymentsApiFixture.OtherMerchantId);

        var payment = await stack.PayAsync(PaymentsApiFixture.MerchantId, 777);
        await mine.WaitForSelectorAsync($"tr[data-id='{payment}'][data-status='captured']", new PageWaitForSelectorOptions { Timeout = WaitMs });
        // A later payment of the second merchant reaching its page proves its stream delivered past the first one's.
        var own = await stack.PayAsync(PaymentsApiFixture.OtherMerchantId, 888);
        await theirs.WaitForSelectorAsync($"tr[data-id='{own}'][data-status='captured']", new PageWaitForSelectorOptions { Timeout = WaitMs });

        Assert.Equal(0, await theirs.Locator($"tr[data-id='{payment}']").CountAsync());
        Assert.DoesNotContain(payment.ToString(), await theirs.ContentAsync());
    }

    [Fact]
    public async Task Filters_and_search_narrow_the_list_and_older_pages_follow_the_cursor()
    {
        const string merchant = "m_filters";
        await stack.AddMerchantAsync(merchant, "Filters");
        await using (var insert = stack.Database.CreateCommand("""
            INSERT INTO payments (id, merchant_id, buyer_id, amount_minor, currency, status, psp, psp_reference, payment_method, created_at, updated_at)
            SELECT gen_random_uuid(), @m, CASE WHEN i = 7 THEN 'b_needle' ELSE 'b_hay' END, 1000 * i, CASE WHEN i % 5 = 0 THEN 'JPY' ELSE 'EUR' END,
                   CASE WHEN i % 3 = 0 THEN 'failed' ELSE 'captured' END, 'stripe', 'pi_filter_' || i,
                   CASE WHEN i = 11 THEN 'pm_card_mastercard' ELSE 'pm_card_visa' END,
                   timestamptz '2026-11-20 12:00:00+00' + make_interval(hours => i), now()
            FROM generate_series(1, 30) AS i
            """))
        {
            insert.Parameters.AddWithValue("m", merchant);
            await insert.ExecuteNonQueryAsync();
        }
        await using var context = await browser.NewContextAsync();
        var page = await SignInAsync(context, merchant);

        Assert.Equal(20, await page.Locator("#payments tbody tr").CountAsync()); // Dashboard:PageSize
        await page.ClickAsync("a[rel=next]");
        Assert.Equal(10, await page.Locator("#payments tbody tr").CountAsync());
        Assert.Equal("10.00 EUR", await page.TextContentAsync("#payments tbody tr:last-child [data-col=amount]")); // the oldest, i = 1

        await page.GotoAsync(stack.DashboardUrl + "/payments");
        await page.FillAsync("input[name=currency]", "JPY");
        await page.PressAsync("input[name=currency]", "Enter"); // keyboard only
        await ArrivedAsync(page, new Regex("currency=JPY"));
        var amounts = await page.Locator("#payments tbody [data-col=amount]").AllTextContentsAsync();
        Assert.Equal(["30000 JPY", "25000 JPY", "20000 JPY", "15000 JPY", "10000 JPY", "5000 JPY"], amounts); // exponent 0

        await page.GotoAsync(stack.DashboardUrl + "/payments?currency=JPY&min=15000&max=25000&status=captured");
        Assert.Equal(["25000 JPY", "20000 JPY"], await page.Locator("#payments tbody [data-col=amount]").AllTextContentsAsync());
        await page.GotoAsync(stack.DashboardUrl + "/payments?from=2026-11-21&to=2026-11-21");
        Assert.Equal(19, await page.Locator("#payments tbody tr").CountAsync()); // i = 12 .. 30 fall on Nov 21 (UTC)

        foreach (var (search, amount) in new[] { ("b_needle", "70.00 EUR"), ("pi_filter_13", "130.00 EUR") })
        {
            await page.GotoAsync(stack.DashboardUrl + "/payments");
            await page.FillAsync("input[name=q]", search);
            await page.PressAsync("input[name=q]", "Enter");
            await ArrivedAsync(page, new Regex($"q={search}"));
            Assert.Equal([amount], await page.Locator("#payments tbody [data-col=amount]").AllTextContentsAsync());
        }
        await page.GotoAsync(stack.DashboardUrl + "/payments?method=pm_card_mastercard");
        Assert.Equal(["110.00 EUR"], await page.Locator("#payments tbody [data-col=amount]").AllTextContentsAsync());
        var id = await page.GetAttributeAsync("#payments tbody tr", "data-id");
        await page.GotoAsync(stack.DashboardUrl + "/payments?q=" + id);
        Assert.Equal(["110.00 EUR"], await page.Locator("#payments tbody [data-col=amount]").AllTextContentsAsync());

        await page.GotoAsync(stack.DashboardUrl + "/payments?min=5");
        Assert.Contains("choose a currency", await page.TextContentAsync("[role=alert]"));
    }

    [Fact]
    public async Task The_payments_page_works_at_360_px_and_its_first_load_is_under_200_KB()
    {
        await using var context = await browser.NewContextAsync(width: 360, height: 740);
        var page = await SignInAsync(context, PaymentsApiFixture.MerchantId);

        // Everything the first page load fetched (the document, stylesheet, script); the open stream is not a download.
        var bytes = await page.EvaluateAsync<long>("""
            () => performance.getEntries().filter(e => e.entryType === 'navigation' || e.entryType === 'resource')
                .reduce((sum, e) => sum + e.decodedBodySize, 0)
            """);
        var overflow = await page.EvaluateAsync<long>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth");
        await BrowserFixture.ScreenshotAsync(page, "payments-360px");

        Assert.InRange(bytes, 1, 200 * 1024);
        Assert.Equal(0, overflow);
        // The filter form and the first payment link are reachable by keyboard.
        await page.Keyboard.PressAsync("Tab");
        Assert.NotEqual("BODY", await page.EvaluateAsync<string>("() => document.activeElement.tagName"));
    }

    [Fact]
    public async Task The_payment_page_shows_its_audit_trail_and_ledger_and_the_day_view_its_totals()
    {
        var payment = await stack.PayAsync(PaymentsApiFixture.MerchantId, 5000, currency: "EUR");
        await stack.UntilDashboardStatusAsync(payment, "captured");
        await using var context = await browser.NewContextAsync();
        var page = await SignInAsync(context, PaymentsApiFixture.MerchantId);

        await page.ClickAsync($"tr[data-id='{payment}'] a");
        await ArrivedAsync(page, new Regex($"/payments/{payment}$"));
        Assert.Equal("captured", await page.TextContentAsync("#payment-status"));
        Assert.True(await page.Locator("#transitions tbody tr").CountAsync() >= 3);
        Assert.True(await page.Locator("#transfers tbody tr").CountAsync() >= 1);
        Assert.Equal(1, await page.Locator("#action-refunds").CountAsync()); // captured: refund is the one action
        Assert.Equal(0, await page.Locator("#action-capture").CountAsync());
        await BrowserFixture.ScreenshotAsync(page, "payment");

        await Eventually.TrueAsync(async () => await stack.ScalarAsync(
            "SELECT coalesce(sum(amount_minor), 0) FROM analytics_daily WHERE merchant_id = @m AND currency = 'EUR' AND status = 'captured'",
            ("m", PaymentsApiFixture.MerchantId)) >= 5000, TimeSpan.FromSeconds(30), "analytics counts the capture");
        await page.GotoAsync(stack.DashboardUrl + "/day");
        Assert.Contains("EUR", await page.TextContentAsync("#totals tr[data-currency=EUR] [data-col=captured]"));
        Assert.True(await page.Locator("#status-chart rect").CountAsync() >= 1);
        await BrowserFixture.ScreenshotAsync(page, "day");
    }

    [Fact]
    public async Task A_refund_clicked_twice_on_the_payment_page_refunds_once_at_the_PSP()
    {
        var payment = await stack.PayAsync(PaymentsApiFixture.MerchantId, 3000);
        await stack.UntilDashboardStatusAsync(payment, "captured");
        await using var context = await browser.NewContextAsync();
        var page = await SignInAsync(context, PaymentsApiFixture.MerchantId);
        await page.GotoAsync($"{stack.DashboardUrl}/payments/{payment}");
        await page.FillAsync("#refunds-amount", "10.00");
        await page.FillAsync("#refunds-reason", "requested_by_customer");

        // Two sends of the one form (its idempotency key was generated once, when the page was rendered).
        await page.EvaluateAsync("""
            () => { const f = document.getElementById('action-refunds'); f.dataset.sent = ''; HTMLFormElement.prototype.submit.call(f);
                    HTMLFormElement.prototype.submit.call(f); }
            """);
        await page.WaitForSelectorAsync(".ok", new PageWaitForSelectorOptions { Timeout = WaitMs });

        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM refunds WHERE payment_id = @id", ("id", payment)));
        await stack.UntilDashboardStatusAsync(payment, "captured");
        Assert.Equal(1000, await stack.ScalarAsync("SELECT amount_refunded_minor FROM payments WHERE id = @id", ("id", payment)));
    }

    [Fact]
    public async Task The_payment_page_lists_a_partial_refund_with_its_amount_in_the_currencys_exponent_status_reason_and_time()
    {
        var payment = await stack.PayAsync(PaymentsApiFixture.MerchantId, 5000, currency: "JPY");
        await stack.UntilDashboardStatusAsync(payment, "captured");
        await using var context = await browser.NewContextAsync();
        var page = await SignInAsync(context, PaymentsApiFixture.MerchantId);
        await page.GotoAsync($"{stack.DashboardUrl}/payments/{payment}");
        Assert.Equal(0, await page.Locator("#refunds tbody tr").CountAsync());

        await page.FillAsync("#refunds-amount", "1200");
        await page.FillAsync("#refunds-reason", "requested_by_customer");
        await page.ClickAsync("#action-refunds button[type=submit]");
        await page.WaitForSelectorAsync(".ok", new PageWaitForSelectorOptions { Timeout = WaitMs });

        var refund = await stack.TextAsync("SELECT id::text FROM refunds WHERE payment_id = @id", payment);
        var row = $"#refunds tr[data-id='{refund}']";
        // The page reads the refunds table at each rendering: a reload shows the refund as the PSP's answer left it.
        await Eventually.TrueAsync(async () =>
        {
            await page.ReloadAsync();
            var status = page.Locator($"{row} [data-col=status]");
            return await status.CountAsync() == 1 && await status.TextContentAsync() == "succeeded";
        }, TimeSpan.FromSeconds(30), "the refund shows as succeeded after a reload");
        Assert.Equal(1, await page.Locator("#refunds tbody tr").CountAsync());
        Assert.Equal(refund, await page.TextContentAsync($"{row} [data-col=id]"));
        Assert.Equal("1200 JPY", await page.TextContentAsync($"{row} [data-col=amount]"));
        Assert.Equal("requested_by_customer", await page.TextContentAsync($"{row} [data-col=reason]"));
        Assert.Equal("—", await page.TextContentAsync($"{row} [data-col=failure]"));
        Assert.EndsWith(" UTC", await page.TextContentAsync($"{row} [data-col=created]"));
        await BrowserFixture.ScreenshotAsync(page, "payment-refunds");
    }

    [Fact]
    public async Task A_refund_above_the_refundable_amount_shows_the_APIs_problem_on_the_form_and_does_nothing()
    {
        var payment = await stack.PayAsync(PaymentsApiFixture.MerchantId, 3000);
        await stack.UntilDashboardStatusAsync(payment, "captured");
        await using var context = await browser.NewContextAsync();
        var page = await SignInAsync(context, PaymentsApiFixture.MerchantId);
        await page.GotoAsync($"{stack.DashboardUrl}/payments/{payment}");

        await page.FillAsync("#refunds-amount", "30.01");
        await page.ClickAsync("#action-refunds button[type=submit]");

        await page.WaitForSelectorAsync("#action-refunds .problem", new PageWaitForSelectorOptions { Timeout = WaitMs });
        Assert.Equal(0, await stack.ScalarAsync("SELECT amount_refunded_minor FROM payments WHERE id = @id", ("id", payment)));
    }

    [Fact]
    public async Task A_partial_capture_from_the_payment_page_moves_the_row_live()
    {
        var payment = await stack.PayAsync(PaymentsApiFixture.MerchantId, 5000, capture: "manual");
        await using var context = await browser.NewContextAsync();
        var list = await SignInAsync(context, PaymentsApiFixture.MerchantId);
        await list.WaitForSelectorAsync($"tr[data-id='{payment}'][data-status='authorized']", new PageWaitForSelectorOptions { Timeout = WaitMs });
        var detail = await context.NewPageAsync();
        await detail.GotoAsync($"{stack.DashboardUrl}/payments/{payment}");

        await detail.FillAsync("#capture-amount", "40.00");
        await detail.ClickAsync("#action-capture button[type=submit]");

        await detail.WaitForSelectorAsync(".ok", new PageWaitForSelectorOptions { Timeout = WaitMs });
        await list.WaitForSelectorAsync($"tr[data-id='{payment}'][data-status='captured']", new PageWaitForSelectorOptions { Timeout = WaitMs });
        Assert.Equal(4000, await stack.ScalarAsync("SELECT amount_captured_minor FROM payments WHERE id = @id", ("id", payment)));
    }

    /// <summary>
    /// Waits until the page is at a URL matching <paramref name="url"/> and its document has loaded. Both are polled by
    /// the browser's driver: Playwright .NET's WaitForURLAsync checks its state, then subscribes to the event, and can
    /// miss a load event delivered in between (it then waits out its whole timeout on a loaded page).
    /// </summary>
    private static async Task ArrivedAsync(IPage page, Regex url)
    {
        await Assertions.Expect(page).ToHaveURLAsync(url, new PageAssertionsToHaveURLOptions { Timeout = WaitMs });
        await page.WaitForFunctionAsync("() => document.readyState === 'complete'", null, new PageWaitForFunctionOptions { Timeout = WaitMs });
    }

    /// <summary>Signs in through the development page (a click on the merchant), then waits for the list's stream to be live.</summary>
    private async Task<IPage> SignInAsync(IBrowserContext context, string merchantId)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync(stack.DashboardUrl + "/payments");
        Assert.EndsWith("/signin", page.Url);
        await page.ClickAsync($"form[action='/signin/dev']:has(input[value='{merchantId}']) button");
        await ArrivedAsync(page, new Regex("/payments$"));
        await page.WaitForSelectorAsync("#live[data-state='live']", new PageWaitForSelectorOptions { Timeout = WaitMs });
        return page;
    }
}

using System.Net.Http.Headers;
using System.Text.Json;
using Npgsql;
using Payrail.Tests.Payments;
using Xunit;

namespace Payrail.Tests.Sweeper;

/// <summary>
/// The sweeper against real PostgreSQL and pspsim: a payment the API left processing (lost answer, timeout) is resolved
/// to the PSP's truth with one charge; several sweepers never check a payment twice; an unresolved one waits its backoff;
/// one the PSP never saw is failed only past AbandonAfter. Sweeps run by hand on a clock moved past the threshold.
/// </summary>
public sealed class SweeperTests(SweeperFixture api) : IClassFixture<SweeperFixture>
{
    private static readonly (string, string) NoCatchUp = ("Sweeper:CatchUpEnabled", "false");

    [Fact]
    public async Task A_charge_whose_response_was_lost_answers_202_and_one_sweep_resolves_it_to_captured_with_one_charge()
    {
        var answer = await api.StuckPaymentAsync("response_lost");
        Assert.Equal(202, answer.Status);
        Assert.Equal("processing", answer.PaymentStatus);
        Assert.Equal(1, await api.PaymentIntentCountAsync(answer.PaymentId)); // charged at the PSP, answer lost

        var sweeper = api.NewSweeper(new ShiftedClock { Offset = TimeSpan.FromMinutes(2) }, NoCatchUp);
        var report = await sweeper.RunOnceAsync(CancellationToken.None);

        Assert.Contains(answer.PaymentId, report.Checked);
        Assert.Equal("captured", await api.StatusAsync(answer.PaymentId));
        Assert.Equal(1, await api.PaymentIntentCountAsync(answer.PaymentId));
        await AssertOneSetOfEffectsAsync(answer.PaymentId);
    }

    [Fact]
    public async Task A_PSP_timeout_answers_202_and_one_sweep_charges_it_exactly_once()
    {
        var answer = await api.StuckPaymentAsync("timeout");
        Assert.Equal(202, answer.Status);
        Assert.Equal("processing", answer.PaymentStatus);

        var sweeper = api.NewSweeper(new ShiftedClock { Offset = TimeSpan.FromMinutes(2) }, NoCatchUp);
        await sweeper.RunOnceAsync(CancellationToken.None);

        Assert.Equal("captured", await api.StatusAsync(answer.PaymentId));
        Assert.Equal(1, await api.PaymentIntentCountAsync(answer.PaymentId));
        await AssertOneSetOfEffectsAsync(answer.PaymentId);
    }

    [Fact]
    public async Task Two_sweepers_at_once_over_200_stuck_payments_check_and_resolve_each_exactly_once()
    {
        var ids = await InsertStuckPaymentsAsync(200);
        var clock = new ShiftedClock { Offset = TimeSpan.FromMinutes(2) };
        var small = new[] { ("Sweeper:BatchSize", "10"), ("Sweeper:MaxBatchesPerSweep", "100"), NoCatchUp };
        var first = api.NewSweeper(clock, small);
        var second = api.NewSweeper(clock, small);

        var reports = await Task.WhenAll(first.RunOnceAsync(CancellationToken.None), second.RunOnceAsync(CancellationToken.None));

        var checkedOurs = reports.SelectMany(r => r.Checked).Where(ids.Contains).ToList();
        Assert.Equal(ids.Count, checkedOurs.Count);
        Assert.Equal(ids.Count, checkedOurs.Distinct().Count());
        Assert.All(reports, r => Assert.NotEmpty(r.Checked)); // both took part
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT count(*) FILTER (WHERE p.status = 'captured' AND p.sweep_checks = 1),
                   (SELECT count(*) FROM payment_transitions t WHERE t.payment_id = ANY(@ids) AND t.cause = 'sweeper'),
                   (SELECT count(*) FROM ledger_transfers l WHERE l.payment_id = ANY(@ids))
            FROM payments p WHERE p.id = ANY(@ids)
            """, connection);
        command.Parameters.AddWithValue("ids", ids.ToArray());
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal(200, reader.GetInt64(0));
        Assert.Equal(600, reader.GetInt64(1)); // initiated → processing → authorized → captured, once each
        Assert.Equal(200, reader.GetInt64(2)); // one purchase transfer each
        await reader.DisposeAsync();
        var intents = await PaymentIntentsByPaymentAsync();
        Assert.All(ids, id => Assert.Equal(1, intents.GetValueOrDefault(id)));
        await api.AssertBooksBalanceAsync();
    }

    [Fact]
    public async Task An_unresolved_payment_is_asked_again_only_after_its_backoff()
    {
        // Still processing at the PSP: every check leaves it as it is.
        var answer = await api.PostPaymentAsync(api.BuyerToken("b_backoff"), Guid.NewGuid().ToString(),
            PaymentsApiFixture.Body(paymentMethod: "pm_card_sim_processing"));
        Assert.Equal(202, answer.Status);
        var clock = new ShiftedClock { Offset = TimeSpan.FromMinutes(2) };
        var sweeper = api.NewSweeper(clock, NoCatchUp);

        Assert.Contains(answer.PaymentId, (await sweeper.RunOnceAsync(CancellationToken.None)).Checked);
        Assert.DoesNotContain(answer.PaymentId, (await sweeper.RunOnceAsync(CancellationToken.None)).Checked);
        clock.Offset += TimeSpan.FromSeconds(61); // past the first backoff (1 min)
        Assert.Contains(answer.PaymentId, (await sweeper.RunOnceAsync(CancellationToken.None)).Checked);
        clock.Offset += TimeSpan.FromSeconds(61); // not past the second (5 min)
        var report = await sweeper.RunOnceAsync(CancellationToken.None);

        Assert.DoesNotContain(answer.PaymentId, report.Checked);
        Assert.Equal("processing", await api.StatusAsync(answer.PaymentId));
        Assert.Equal(2, Convert.ToInt32(await api.ScalarTextAsync("SELECT sweep_checks FROM payments WHERE id = @id", answer.PaymentId)));
        Assert.True(report.StuckCount >= 1, "an unresolved payment is reported as stuck");
        Assert.NotNull(report.OldestStuck);
    }

    [Fact]
    public async Task Past_AbandonAfter_a_payment_the_PSP_never_saw_is_failed_and_one_it_saw_is_resolved_instead()
    {
        var neverSeen = await api.StuckPaymentAsync("timeout"); // refused before it ran: no PaymentIntent
        var seen = await api.StuckPaymentAsync("response_lost"); // charged, answer lost
        Assert.Equal(0, await api.PaymentIntentCountAsync(neverSeen.PaymentId));
        var sweeper = api.NewSweeper(new ShiftedClock { Offset = TimeSpan.FromMinutes(20) }, NoCatchUp,
            ("Sweeper:AbandonAfter", "00:10:00"));

        await sweeper.RunOnceAsync(CancellationToken.None);

        Assert.Equal("failed", await api.StatusAsync(neverSeen.PaymentId));
        Assert.Equal("abandoned", await api.ScalarTextAsync("SELECT failure_code FROM payments WHERE id = @id", neverSeen.PaymentId));
        Assert.Equal(0, await api.PaymentIntentCountAsync(neverSeen.PaymentId)); // searched, never re-created
        Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", neverSeen.PaymentId)));
        Assert.Equal("captured", await api.StatusAsync(seen.PaymentId));
        Assert.Equal(1, await api.PaymentIntentCountAsync(seen.PaymentId));
    }

    [Fact]
    public async Task Webhooks_never_delivered_for_a_whole_run_are_converged_by_the_events_catch_up_alone()
    {
        // The threshold keeps the stuck-payment scan away: only the catch-up can move these.
        var sweeper = api.NewSweeper(TimeProvider.System, ("Sweeper:Threshold", "1.00:00:00"), ("Sweeper:AbandonAfter", "2.00:00:00"),
            ("Sweeper:EventsPageSize", "7"));
        var firstRun = await ProcessingPaymentsSettledAtThePspAsync(6);
        var first = await sweeper.RunOnceAsync(CancellationToken.None); // no cursor yet: back through the lookback window
        var secondRun = await ProcessingPaymentsSettledAtThePspAsync(6);
        var second = await sweeper.RunOnceAsync(CancellationToken.None); // forward from the cursor, several pages

        foreach (var (id, succeed) in firstRun.Concat(secondRun))
        {
            Assert.Equal(succeed ? "captured" : "failed", await api.StatusAsync(id));
            Assert.Equal(succeed ? 1 : 0, await api.ScalarAsync(
                "SELECT count(*) FROM payment_transitions WHERE payment_id = @id AND cause = 'sweeper.catch_up' AND to_status = 'captured'", ("id", id)));
        }
        Assert.True(first.CatchUp.Pages > 1 && second.CatchUp.Pages > 1, "paged");
        Assert.Empty(first.Checked.Concat(second.Checked).Intersect(firstRun.Concat(secondRun).Select(p => p.Id)));
        var again = await sweeper.RunOnceAsync(CancellationToken.None);
        Assert.Equal(0, again.CatchUp.Applied);
        await api.AssertBooksBalanceAsync();
    }

    /// <summary>Payments the PSP keeps processing (202), then settles on its side, half succeeding; no webhook reaches Payrail.</summary>
    private async Task<List<(Guid Id, bool Succeed)>> ProcessingPaymentsSettledAtThePspAsync(int count)
    {
        var payments = new List<(Guid, bool)>();
        for (var i = 0; i < count; i++)
        {
            var answer = await api.PostPaymentAsync(api.BuyerToken("b_catchup"), Guid.NewGuid().ToString(),
                PaymentsApiFixture.Body(amount: 1000 + i, paymentMethod: "pm_card_sim_processing"));
            Assert.Equal(202, answer.Status);
            var succeed = i % 2 == 0;
            await api.PspSim.SettleAsync(answer.Json.GetProperty("psp_reference").GetString()!, succeed);
            payments.Add((answer.PaymentId, succeed));
        }
        return payments;
    }

    /// <summary>One charge's effects: one purchase transfer, one payment.captured and one payment.completed.</summary>
    private async Task AssertOneSetOfEffectsAsync(Guid paymentId)
    {
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", paymentId)));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM outbox WHERE aggregate_id = @id AND event_type = 'payment.captured'", ("id", paymentId)));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM outbox WHERE aggregate_id = @id AND event_type = 'payment.completed'", ("id", paymentId)));
        await api.AssertBooksBalanceAsync();
    }

    /// <summary>Payments recorded (initiated, method kept) whose create never reached the PSP, as a crash after transaction 1 leaves them.</summary>
    private async Task<List<Guid>> InsertStuckPaymentsAsync(int count)
    {
        var ids = Enumerable.Range(0, count).Select(_ => Guid.CreateVersion7()).ToList();
        await using var connection = await api.Postgres.OpenAsync();
        await using var insert = new NpgsqlCommand("""
            INSERT INTO payments (id, merchant_id, buyer_id, amount_minor, currency, status, capture_method, payment_method, version, created_at, updated_at)
            SELECT id, @merchant, 'b_stuck', 1500, 'USD', 'initiated', 'automatic', 'pm_card_visa', 1, now(), now() FROM unnest(@ids) AS id;
            INSERT INTO payment_transitions (payment_id, from_status, to_status, cause, at)
            SELECT id, NULL, 'initiated', 'created', now() FROM unnest(@ids) AS id;
            """, connection);
        insert.Parameters.AddWithValue("merchant", PaymentsApiFixture.MerchantId);
        insert.Parameters.AddWithValue("ids", ids.ToArray());
        await insert.ExecuteNonQueryAsync();
        return ids;
    }

    /// <summary>pspsim's PaymentIntents per Payrail payment id (one listing of them all).</summary>
    private async Task<Dictionary<Guid, int>> PaymentIntentsByPaymentAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri(api.PspSim.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", api.PspSim.ApiKey);
        var counts = new Dictionary<Guid, int>();
        string? startingAfter = null;
        for (var page = 0; page < 100; page++)
        {
            using var list = JsonDocument.Parse(await http.GetStringAsync("/v1/payment_intents?limit=100"
                + (startingAfter is null ? "" : "&starting_after=" + startingAfter)));
            foreach (var intent in list.RootElement.GetProperty("data").EnumerateArray())
            {
                if (intent.GetProperty("metadata").TryGetProperty("payrail_payment_id", out var id) && Guid.TryParse(id.GetString(), out var paymentId))
                    counts[paymentId] = counts.GetValueOrDefault(paymentId) + 1;
                startingAfter = intent.GetProperty("id").GetString();
            }
            if (!list.RootElement.GetProperty("has_more").GetBoolean()) break;
        }
        return counts;
    }
}

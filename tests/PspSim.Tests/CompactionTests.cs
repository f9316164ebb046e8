using System.Net;
using Payrail.Testing;
using PspSim.Storage;
using Stripe;
using Xunit;

namespace PspSim.Tests;

/// <summary>pspsim's journal is folded into a snapshot past its bound, and old payments are evicted: state survives both.</summary>
public sealed class CompactionTests
{
    private sealed class SimulatedCrash : Exception;

    private static async Task<PspSimFixture> StartAsync(params string[] settings)
    {
        var fixture = new PspSimFixture();
        fixture.ExtraArgs.AddRange(settings);
        await fixture.InitializeAsync();
        return fixture;
    }

    /// <summary>Compacts the stopped fixture's data dir in this process (pspsim's own store, its real files).</summary>
    private static CompactionReport CompactOffline(
        PspSimFixture fixture, Action<CompactionStep>? crashAt = null, int maxStoredPaymentIntents = 50_000, long snapshotBytesPerSecond = 0)
    {
        using var store = new SimStore(fixture.DataDir, TimeProvider.System,
            new PspSimOptions { MaxStoredPaymentIntents = maxStoredPaymentIntents, SnapshotWriteBytesPerSecond = snapshotBytesPerSecond });
        return store.Compact(crashAt);
    }

    private static long Bytes(string dir) => new DirectoryInfo(dir).EnumerateFiles().Sum(f => f.Length);

    [Fact]
    public async Task State_and_stored_idempotent_answers_survive_compaction_and_a_restart()
    {
        var fixture = await StartAsync("--PspSim:MaxJournalBytes=16384");
        await using var stop = new Disposer(fixture);
        var client = Sim.Client(fixture);
        var intents = new PaymentIntentService(client);
        var authorized = await intents.CreateAsync(Sim.Card(2_500, captureMethod: "manual"));
        var refunded = await intents.CreateAsync(Sim.Card(7_000));
        var refund = await new RefundService(client).CreateAsync(new RefundCreateOptions { PaymentIntent = refunded.Id, Amount = 1_000 });
        using var http = Sim.Raw(fixture);
        var key = Guid.NewGuid().ToString();
        HttpRequestMessage Keyed() => new(HttpMethod.Post, "/v1/payment_intents")
        {
            Content = Sim.Form(("amount", "900"), ("currency", "usd")), Headers = { { "Idempotency-Key", key } },
        };
        using var first = await http.SendAsync(Keyed());
        var firstBody = await first.Content.ReadAsStringAsync();
        for (var i = 0; i < 20; i++) await intents.CreateAsync(Sim.Card(100 + i));
        await Eventually.TrueAsync(() => Directory.EnumerateFiles(fixture.DataDir, "snapshot.*.jsonl").Any(), TimeSpan.FromSeconds(10), "the journal passed its bound");

        await fixture.RestartAsync();

        Assert.Empty(Directory.EnumerateFiles(fixture.DataDir, JournalFiles.FirstJournal));
        using var replay = await http.SendAsync(Keyed());
        Assert.Equal(firstBody, await replay.Content.ReadAsStringAsync());
        Assert.Equal("succeeded", (await intents.CaptureAsync(authorized.Id)).Status);
        Assert.Equal(1_000, (await new ChargeService(client).GetAsync(refunded.LatestChargeId)).AmountRefunded);
        Assert.Equal(1_000, (await new RefundService(client).GetAsync(refund.Id)).Amount);
        var newest = (await intents.ListAsync(new PaymentIntentListOptions { Limit = 1 })).Data.Single();
        Assert.Equal(119, newest.Amount);
    }

    [Fact]
    public async Task The_journal_stays_under_its_bound_across_3000_payments()
    {
        const int boundBytes = 64 * 1024;
        var fixture = await StartAsync($"--PspSim:MaxJournalBytes={boundBytes}", "--PspSim:MaxStoredPaymentIntents=100",
            "--PspSim:MaxStoredEvents=300");
        await using var stop = new Disposer(fixture);
        using var http = Sim.Raw(fixture);
        var ids = new List<string>();
        long largestJournal = 0, largestDir = 0;
        for (var batch = 0; batch < 30; batch++)
        {
            var created = await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
            {
                using var response = await http.PostAsync("/v1/payment_intents", Sim.Form(("amount", (1_000 + i).ToString()), ("currency", "usd"),
                    ("payment_method", "pm_card_visa"), ("confirm", "true"), ("automatic_payment_methods[enabled]", "true"),
                    ("automatic_payment_methods[allow_redirects]", "never")));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
            }));
            ids.AddRange(created);
            // Sizes as enumerated: a compaction may delete a superseded journal between a listing and a later stat.
            var journal = new DirectoryInfo(fixture.DataDir).EnumerateFiles("journal*.jsonl").Select(f => f.Length).DefaultIfEmpty(0).Max();
            largestJournal = Math.Max(largestJournal, journal);
            largestDir = Math.Max(largestDir, Bytes(fixture.DataDir));
        }

        // Appends move on once the bound is passed; past twice the bound, writers wait for the running snapshot.
        Assert.InRange(largestJournal, 1, 3 * boundBytes);
        // Unbounded, the journal would hold ≈3000 × 6 KB; the snapshot holds 100 payments and 300 events.
        Assert.InRange(largestDir, 1, 3 * 1024 * 1024);
        await fixture.RestartAsync();
        var intents = new PaymentIntentService(Sim.Client(fixture));
        Assert.Equal("succeeded", (await intents.GetAsync(ids[^1])).Status);
        var evicted = await Assert.ThrowsAsync<StripeException>(() => intents.GetAsync(ids[0]));
        Assert.Equal(HttpStatusCode.NotFound, evicted.HttpStatusCode);
    }

    [Fact]
    public async Task Past_its_bound_the_oldest_idempotent_answers_are_forgotten_and_a_snapshot_keeps_only_the_rest()
    {
        var fixture = await StartAsync("--PspSim:MaxStoredIdempotencyKeys=3", "--PspSim:MaxJournalBytes=16384");
        await using var stop = new Disposer(fixture);
        using var http = Sim.Raw(fixture);
        async Task<string> CreateAsync(string? key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/payment_intents") { Content = Sim.Form(("amount", "900"), ("currency", "usd")) };
            if (key is not null) request.Headers.Add("Idempotency-Key", key);
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        }
        var keys = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid().ToString()).ToArray();
        var first = new List<string>();
        foreach (var key in keys) first.Add(await CreateAsync(key));
        for (var i = 0; i < 40 && !Directory.EnumerateFiles(fixture.DataDir, "snapshot.*.jsonl").Any(); i++) await CreateAsync(null);
        await Eventually.TrueAsync(() => Directory.EnumerateFiles(fixture.DataDir, "snapshot.*.jsonl").Any(), TimeSpan.FromSeconds(10), "the journal passed its bound");

        await fixture.RestartAsync();

        var snapshotAnswers = Directory.EnumerateFiles(fixture.DataDir, "snapshot.*.jsonl").SelectMany(System.IO.File.ReadLines)
            .Count(l => l.StartsWith("{\"k\":\"idem\"", StringComparison.Ordinal));
        Assert.InRange(snapshotAnswers, 1, 3);
        // The newest three replay the first answer; the two oldest were forgotten and run again.
        for (var i = 2; i < 5; i++) Assert.Equal(first[i], await CreateAsync(keys[i]));
        Assert.NotEqual(first[0], await CreateAsync(keys[0]));
    }

    [Fact]
    public async Task Eviction_keeps_payments_that_can_still_change_and_drops_the_oldest_others()
    {
        var fixture = await StartAsync();
        await using var stop = new Disposer(fixture);
        var client = Sim.Client(fixture);
        var intents = new PaymentIntentService(client);
        var authorized = await intents.CreateAsync(Sim.Card(2_500, captureMethod: "manual"));
        var pendingRefund = await new RefundService(client).CreateAsync(new RefundCreateOptions
        {
            PaymentIntent = (await intents.CreateAsync(Sim.Card(1_000, "pm_card_pendingRefund"))).Id,
        });
        var done = new List<PaymentIntent>();
        for (var i = 0; i < 10; i++) done.Add(await intents.CreateAsync(Sim.Card(100 + i)));
        var doneRefund = await new RefundService(client).CreateAsync(new RefundCreateOptions { PaymentIntent = done[0].Id });
        await fixture.StopAsync();

        CompactOffline(fixture, maxStoredPaymentIntents: 5);
        await fixture.StartAsync();

        // The 2 that can still change count towards the 5 kept: 7 finished ones evicted, oldest first, left out of the snapshot.
        Assert.Equal(5, Directory.EnumerateFiles(fixture.DataDir, "snapshot.*.jsonl").SelectMany(System.IO.File.ReadLines).Count(l => l.StartsWith("{\"k\":\"pi\"")));
        Assert.Equal("pending", (await new RefundService(client).GetAsync(pendingRefund.Id)).Status);
        Assert.Equal("succeeded", (await intents.CaptureAsync(authorized.Id)).Status);
        foreach (var kept in done.TakeLast(3)) Assert.Equal("succeeded", (await intents.GetAsync(kept.Id)).Status);
        // The oldest finished payment went with its charge and refund.
        foreach (var gone in new Func<Task>[]
                 {
                     () => intents.GetAsync(done[0].Id), () => new ChargeService(client).GetAsync(done[0].LatestChargeId),
                     () => new RefundService(client).GetAsync(doneRefund.Id),
                 })
            Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<StripeException>(gone)).HttpStatusCode);
    }

    [Fact]
    public async Task A_snapshot_is_written_no_faster_than_its_configured_rate()
    {
        var fixture = await StartAsync();
        await using var stop = new Disposer(fixture);
        var intents = new PaymentIntentService(Sim.Client(fixture));
        for (var i = 0; i < 20; i++) await intents.CreateAsync(Sim.Card(100 + i));
        await fixture.StopAsync();
        const long bytesPerSecond = 32 * 1024;

        var report = CompactOffline(fixture, snapshotBytesPerSecond: bytesPerSecond);

        // A lower bound only (the pacing waits; nothing makes it faster): a burst is what stalled everyone's fsyncs.
        Assert.True(report.SnapshotBytes > bytesPerSecond, $"a snapshot of {report.SnapshotBytes} B is too small to show pacing");
        Assert.True(report.ElapsedMs >= 1000.0 * report.SnapshotBytes / bytesPerSecond - 50,
            $"{report.SnapshotBytes} B written in {report.ElapsedMs:F0} ms, faster than {bytesPerSecond} B/s");
    }

    [Theory]
    [InlineData(CompactionStep.Rotated)]
    [InlineData(CompactionStep.SnapshotWritten)]
    [InlineData(CompactionStep.Renamed)]
    public async Task A_crash_at_any_step_of_a_compaction_loses_nothing(CompactionStep crashAt)
    {
        var fixture = await StartAsync();
        await using var stop = new Disposer(fixture);
        var client = Sim.Client(fixture);
        var intents = new PaymentIntentService(client);
        var authorized = await intents.CreateAsync(Sim.Card(2_500, captureMethod: "manual"));
        var refunded = await intents.CreateAsync(Sim.Card(7_000));
        var refund = await new RefundService(client).CreateAsync(new RefundCreateOptions { PaymentIntent = refunded.Id, Amount = 1_000 });
        await fixture.StopAsync();
        CompactOffline(fixture);
        await fixture.StartAsync();
        await intents.CaptureAsync(authorized.Id, new PaymentIntentCaptureOptions { AmountToCapture = 2_000 });
        await fixture.StopAsync();

        Assert.Throws<SimulatedCrash>(() => CompactOffline(fixture, step => { if (step == crashAt) throw new SimulatedCrash(); }));
        await fixture.StartAsync();

        var captured = await intents.GetAsync(authorized.Id);
        Assert.Equal(("succeeded", 2_000L), (captured.Status, captured.AmountReceived));
        Assert.Equal(1_000, (await new RefundService(client).GetAsync(refund.Id)).Amount);
        var later = await intents.CreateAsync(Sim.Card(333));
        await fixture.RestartAsync();
        Assert.Equal(333, (await intents.GetAsync(later.Id)).Amount);
        Assert.Equal(1_000, (await new ChargeService(client).GetAsync(refunded.LatestChargeId)).AmountRefunded);
        Assert.Empty(Directory.EnumerateFiles(fixture.DataDir, "*" + JournalFiles.TempSuffix));
    }

    [Fact]
    public async Task A_torn_snapshot_temp_file_is_ignored_on_start()
    {
        var fixture = await StartAsync();
        await using var stop = new Disposer(fixture);
        var intents = new PaymentIntentService(Sim.Client(fixture));
        var kept = await intents.CreateAsync(Sim.Card(4_200));
        await fixture.StopAsync();
        CompactOffline(fixture);
        var torn = JournalFiles.SnapshotPath(fixture.DataDir, 99) + JournalFiles.TempSuffix;
        await System.IO.File.WriteAllTextAsync(torn, "{\"k\":\"pi\",\"v\":{\"id\":\"pi_torn");

        await fixture.StartAsync();

        Assert.Equal(4_200, (await intents.GetAsync(kept.Id)).Amount);
        Assert.False(System.IO.File.Exists(torn));
        var after = await intents.CreateAsync(Sim.Card(5_100));
        await fixture.RestartAsync();
        Assert.Equal(5_100, (await intents.GetAsync(after.Id)).Amount);
    }

    [Theory]
    [InlineData("--PspSim:MaxJournalBytes=1000", "PspSim:MaxJournalBytes")]
    [InlineData("--PspSim:RetentionDays=0", "PspSim:RetentionDays")]
    [InlineData("--PspSim:MaxStoredPaymentIntents=0", "PspSim:MaxStoredPaymentIntents")]
    [InlineData("--PspSim:MaxStoredIdempotencyKeys=0", "PspSim:MaxStoredIdempotencyKeys")]
    public void A_broken_storage_limit_stops_pspsim_at_start_naming_it(string setting, string name)
    {
        var refused = Assert.Throws<InvalidOperationException>(() => PspSimApp.Build(["--urls", "http://127.0.0.1:0", setting]));
        Assert.Contains(name, refused.Message);
    }

    private sealed class Disposer(PspSimFixture fixture) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await fixture.DisposeAsync();
    }
}

using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Payrail.Testing;
using Payrail.Tests.Payments;
using Payrail.Worker;
using System.Net.Http.Json;
using Xunit;

namespace Payrail.Tests.Sweeper;

/// <summary>
/// A worker whose sweeper loop runs on its own: a 2 s threshold (past the API's 1 s synchronous budget, so the sweeper
/// never races the request) and a 1 s interval, no events catch-up.
/// </summary>
public sealed class SweeperLoopFixture : SweeperFixture, IAsyncLifetime
{
    public static readonly TimeSpan Threshold = TimeSpan.FromSeconds(2);

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [.. base.Settings.Where(s => s.Key != "Payments:SyncBudgetMs"), new("Payments:SyncBudgetMs", "1000")];
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    public WebApplication Worker { get; private set; } = null!;

    public new async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Worker = NewWorker(TimeProvider.System, ("Sweeper:Threshold", Threshold.ToString()), ("Sweeper:Interval", Interval.ToString()),
            ("Sweeper:CatchUpEnabled", "false"), ("Payments:SyncBudgetMs", "1000"));
        await Worker.StartAsync();
    }
}

public sealed class SweeperLoopTests(SweeperLoopFixture api) : IClassFixture<SweeperLoopFixture>
{
    [Theory]
    [InlineData("response_lost")] // charged, the answer lost: the sweeper's same-key create gets the replay
    [InlineData("timeout")] // never ran: the sweeper's same-key create charges now
    public async Task The_worker_resolves_a_payment_the_API_left_processing_within_two_sweep_intervals_with_one_charge(string fault)
    {
        var answer = await api.StuckPaymentAsync(fault);
        var answeredAt = Stopwatch.GetTimestamp();
        Assert.Equal(202, answer.Status);

        // Stuck once the threshold passed; then at most two intervals, plus the PSP call and the write.
        var deadline = SweeperLoopFixture.Threshold + 2 * SweeperLoopFixture.Interval + TimeSpan.FromSeconds(2);
        await Eventually.TrueAsync(async () => await api.StatusAsync(answer.PaymentId) == "captured", deadline + TimeSpan.FromSeconds(5),
            "the worker's sweeper resolves the payment");

        Assert.True(Stopwatch.GetElapsedTime(answeredAt) <= deadline, $"resolved after {Stopwatch.GetElapsedTime(answeredAt)}, allowed {deadline}");
        Assert.Equal(1, await api.PaymentIntentCountAsync(answer.PaymentId));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", answer.PaymentId)));
        using var management = new HttpClient { BaseAddress = new Uri(api.Worker.Urls.First()) };
        var loops = await management.GetFromJsonAsync<Dictionary<string, string>>(WorkerLoops.Path);
        Assert.StartsWith("sweeper: ", loops!["sweeper"]);
        Assert.DoesNotContain("failed", loops["sweeper"]);
        // The payment is committed before the sweep that resolved it ends and records its duration; a sweep still waiting
        // on the PSP (a call the "timeout" fault hangs) ends within the connector's whole budget (Stripe:TotalTimeoutMs, 30 s).
        await Eventually.TrueAsync(async () => (await management.GetStringAsync("/metrics")).Contains("payrail_sweeper_sweep_duration", StringComparison.Ordinal),
            TimeSpan.FromSeconds(35), "the sweep's duration is on /metrics once it ended");
    }
}

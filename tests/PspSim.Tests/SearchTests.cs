using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

/// <summary>A pspsim whose search sees every write at once (PspSim:SearchLagMs=0), for the query language itself.</summary>
public sealed class FreshSearchSim : IAsyncLifetime
{
    public PspSimFixture Psp { get; } = new();
    public FreshSearchSim() => Psp.ExtraArgs.Add("--PspSim:SearchLagMs=0");
    public Task InitializeAsync() => Psp.InitializeAsync();
    public Task DisposeAsync() => Psp.DisposeAsync();
}

/// <summary>A pspsim whose search lags writes by <see cref="LagMs"/>, as Stripe's ("searchable in under 1 minute").</summary>
public sealed class LaggingSearchSim : IAsyncLifetime
{
    public const int LagMs = 2_000;
    public PspSimFixture Psp { get; } = new();
    public LaggingSearchSim() => Psp.ExtraArgs.Add($"--PspSim:SearchLagMs={LagMs}");
    public Task InitializeAsync() => Psp.InitializeAsync();
    public Task DisposeAsync() => Psp.DisposeAsync();
}

/// <summary>GET /v1/payment_intents/search: Stripe's query language (the subset pspsim models) and result shape.</summary>
public sealed class SearchTests(FreshSearchSim sim) : IClassFixture<FreshSearchSim>
{
    private PaymentIntentService Intents => new(Sim.Client(sim.Psp));

    private async Task<PaymentIntent> CreateAsync(string order, bool confirm, long amount = 1_500)
    {
        var create = Sim.Card(amount, confirm: confirm);
        create.Metadata = new Dictionary<string, string> { ["order"] = order };
        return await Intents.CreateAsync(create);
    }

    [Fact]
    public async Task Search_by_metadata_and_status_finds_exactly_the_matching_intents()
    {
        var order = Guid.NewGuid().ToString("N");
        var paid = await CreateAsync(order, confirm: true);
        var open = await CreateAsync(order, confirm: false);
        await CreateAsync(Guid.NewGuid().ToString("N"), confirm: true); // another order

        var byOrder = await Intents.SearchAsync(new PaymentIntentSearchOptions { Query = $"metadata['order']:'{order}'" });
        var paidOnly = await Intents.SearchAsync(new PaymentIntentSearchOptions { Query = $"status:'succeeded' AND metadata[\"order\"]:\"{order}\"" });

        Assert.Equal("search_result", byOrder.Object);
        Assert.Equal("/v1/payment_intents/search", byOrder.Url);
        Assert.Equal([open.Id, paid.Id], byOrder.Data.Select(p => p.Id)); // newest first
        Assert.False(byOrder.HasMore);
        Assert.Null(byOrder.NextPage);
        Assert.Equal([paid.Id], paidOnly.Data.Select(p => p.Id));
    }

    [Fact]
    public async Task Search_pages_by_limit_and_next_page()
    {
        var order = Guid.NewGuid().ToString("N");
        var made = new List<string>();
        for (var i = 0; i < 3; i++) made.Add((await CreateAsync(order, confirm: false)).Id);
        var query = $"metadata['order']:'{order}'";

        var first = await Intents.SearchAsync(new PaymentIntentSearchOptions { Query = query, Limit = 2 });
        var second = await Intents.SearchAsync(new PaymentIntentSearchOptions { Query = query, Limit = 2, Page = first.NextPage });

        Assert.True(first.HasMore);
        Assert.NotNull(first.NextPage);
        Assert.False(second.HasMore);
        Assert.Equal(Enumerable.Reverse(made), first.Data.Concat(second.Data).Select(p => p.Id));
    }

    [Theory]
    [InlineData("status:succeeded")]
    [InlineData("amount>100")]
    [InlineData("status:'succeeded' OR status:'canceled'")]
    [InlineData("metadata['order':'x'")]
    [InlineData("status:'succeeded' AND")]
    [InlineData("-status:'succeeded'")]
    [InlineData("")]
    public async Task A_malformed_or_unsupported_query_is_a_400_invalid_request_error_naming_query(string query)
    {
        using var http = Sim.Raw(sim.Psp);
        using var response = await http.GetAsync("/v1/payment_intents/search?query=" + Uri.EscapeDataString(query));
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("query", error.GetProperty("param").GetString());
    }
}

/// <summary>Stripe's search lags writes: an intent is invisible to it until the lag passed since its creation or change.</summary>
public sealed class SearchLagTests(LaggingSearchSim sim) : IClassFixture<LaggingSearchSim>
{
    private PaymentIntentService Intents => new(Sim.Client(sim.Psp));

    private async Task<List<string>> SearchAsync(string query) =>
        (await Intents.SearchAsync(new PaymentIntentSearchOptions { Query = query })).Data.Select(p => p.Id).ToList();

    [Fact]
    public async Task A_new_intent_is_invisible_to_search_until_the_lag_passed_while_the_list_shows_it_at_once()
    {
        var order = Guid.NewGuid().ToString("N");
        var query = $"metadata['order']:'{order}'";
        var since = Stopwatch.StartNew();
        var create = Sim.Card(2_100);
        create.Metadata = new Dictionary<string, string> { ["order"] = order };
        var pi = await Intents.CreateAsync(create);

        Assert.Empty(await SearchAsync(query));
        Assert.Contains(pi.Id, (await Intents.ListAsync(new PaymentIntentListOptions { Limit = 5 })).Data.Select(p => p.Id));
        await Eventually.TrueAsync(async () => (await SearchAsync(query)).Contains(pi.Id), TimeSpan.FromSeconds(15), "the intent becomes searchable");
        Assert.True(since.ElapsedMilliseconds >= LaggingSearchSim.LagMs, $"searchable after {since.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task A_change_reaches_search_only_after_the_lag_the_older_state_is_searched_meanwhile()
    {
        var order = Guid.NewGuid().ToString("N");
        var create = Sim.Card(2_200, confirm: false);
        create.Metadata = new Dictionary<string, string> { ["order"] = order };
        var pi = await Intents.CreateAsync(create);
        var open = $"status:'requires_confirmation' AND metadata['order']:'{order}'";
        var paid = $"status:'succeeded' AND metadata['order']:'{order}'";
        await Eventually.TrueAsync(async () => (await SearchAsync(open)).Count == 1, TimeSpan.FromSeconds(15), "the new intent becomes searchable");

        var since = Stopwatch.StartNew();
        await Intents.ConfirmAsync(pi.Id, new PaymentIntentConfirmOptions());

        Assert.Equal([pi.Id], await SearchAsync(open));
        Assert.Empty(await SearchAsync(paid));
        await Eventually.TrueAsync(async () => (await SearchAsync(paid)).Count == 1, TimeSpan.FromSeconds(15), "the change becomes searchable");
        Assert.True(since.ElapsedMilliseconds >= LaggingSearchSim.LagMs, $"searchable after {since.ElapsedMilliseconds} ms");
        Assert.Empty(await SearchAsync(open));
    }
}

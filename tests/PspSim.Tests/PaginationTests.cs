using Payrail.Testing;
using Stripe;
using Xunit;

namespace PspSim.Tests;

/// <summary>Own pspsim: the pages must hold exactly this test's intents.</summary>
public sealed class PaginationTests(PspSimFixture fixture) : IClassFixture<PspSimFixture>
{
    private readonly StripeClient _client = Sim.Client(fixture);

    [Fact]
    public async Task Lists_page_newest_first_with_starting_after_and_ending_before()
    {
        var intents = new PaymentIntentService(_client);
        var from = DateTime.UtcNow.AddSeconds(-1);
        var created = new List<string>();
        for (var i = 0; i < 5; i++) created.Add((await intents.CreateAsync(new PaymentIntentCreateOptions { Amount = 100 + i, Currency = "usd" })).Id);
        created.Reverse(); // newest first

        var filter = new DateRangeOptions { GreaterThanOrEqual = from };
        var page1 = await intents.ListAsync(new PaymentIntentListOptions { Limit = 2, Created = filter });
        Assert.Equal(created[..2], page1.Data.Select(p => p.Id));
        Assert.True(page1.HasMore);
        var page2 = await intents.ListAsync(new PaymentIntentListOptions { Limit = 2, StartingAfter = page1.Data[^1].Id, Created = filter });
        Assert.Equal(created[2..4], page2.Data.Select(p => p.Id));
        var page3 = await intents.ListAsync(new PaymentIntentListOptions { Limit = 2, StartingAfter = page2.Data[^1].Id, Created = filter });
        Assert.Equal(created[4..], page3.Data.Select(p => p.Id));
        Assert.False(page3.HasMore);

        var back = await intents.ListAsync(new PaymentIntentListOptions { Limit = 2, EndingBefore = created[4], Created = filter });
        Assert.Equal(created[2..4], back.Data.Select(p => p.Id));
        Assert.True(back.HasMore);

        var future = await intents.ListAsync(new PaymentIntentListOptions { Created = new DateRangeOptions { GreaterThan = DateTime.UtcNow.AddMinutes(5) } });
        Assert.Empty(future.Data);
    }

    [Fact]
    public async Task Balance_transactions_page_through_a_created_range()
    {
        var from = DateTime.UtcNow.AddSeconds(-1);
        var intents = new PaymentIntentService(_client);
        var charges = new List<string>();
        for (var i = 0; i < 3; i++) charges.Add((await intents.CreateAsync(Sim.Card(1_000 + i))).LatestChargeId);
        var until = DateTime.UtcNow.AddSeconds(2);

        var balance = new BalanceTransactionService(_client);
        var seen = new List<BalanceTransaction>();
        await foreach (var t in balance.ListAutoPagingAsync(new BalanceTransactionListOptions
        {
            Limit = 2, Type = "charge", Created = new DateRangeOptions { GreaterThanOrEqual = from, LessThan = until },
        }))
            seen.Add(t);
        Assert.Equal(charges.AsEnumerable().Reverse(), seen.Select(t => t.SourceId));
        Assert.All(seen, t => Assert.Equal(t.Amount - t.Fee, t.Net));

        var before = await balance.ListAsync(new BalanceTransactionListOptions { Created = new DateRangeOptions { LessThan = from.AddSeconds(-5) } });
        Assert.Empty(before.Data);
    }
}

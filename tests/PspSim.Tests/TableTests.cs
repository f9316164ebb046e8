using PspSim.Storage;
using Xunit;

namespace PspSim.Tests;

public sealed class TableTests
{
    private sealed record Row(string Id, long Created, string Version = "v1") : IStored;

    [Fact]
    public void A_capped_table_evicts_the_oldest_rows_first_and_keeps_lookups_consistent()
    {
        var table = new Table<Row>(maxRows: 10);
        for (var i = 0; i < 100; i++) table.Upsert(new Row($"evt_{i}", i));

        // Never more than the cap plus one batch (a tenth, at least one row).
        Assert.InRange(table.Count, 10, 11);
        Assert.Null(table.Find("evt_0"));
        Assert.Equal(-1, table.PositionOf("evt_50"));
        Assert.Equal("evt_99", table[table.Count - 1].Id);
        for (var p = 0; p < table.Count; p++)
        {
            Assert.Equal(p, table.PositionOf(table[p].Id));
            Assert.Same(table[p], table.Find(table[p].Id));
        }
        // Created order is kept: the survivors are the newest, oldest first.
        Assert.Equal(Enumerable.Range(100 - table.Count, table.Count).Select(i => (long)i), Enumerable.Range(0, table.Count).Select(p => table[p].Created));
    }

    [Fact]
    public void Updating_a_kept_row_replaces_it_in_place_and_an_uncapped_table_keeps_everything()
    {
        var capped = new Table<Row>(maxRows: 3);
        for (var i = 0; i < 3; i++) capped.Upsert(new Row($"pi_{i}", i));
        capped.Upsert(new Row("pi_1", 1, "v2"));
        Assert.Equal(3, capped.Count);
        Assert.Equal("v2", capped.Find("pi_1")!.Version);
        Assert.Equal(1, capped.PositionOf("pi_1"));

        var all = new Table<Row>();
        for (var i = 0; i < 1_000; i++) all.Upsert(new Row($"pi_{i}", i));
        Assert.Equal(1_000, all.Count);
        Assert.NotNull(all.Find("pi_0"));
    }
}

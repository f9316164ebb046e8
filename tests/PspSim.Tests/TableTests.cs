using PspSim.Storage;
using Xunit;

namespace PspSim.Tests;

public sealed class TableTests
{
    private sealed record Row(string Id, long Created, string Version = "v1", string Group = "") : IStored;

    [Fact]
    public void A_capped_table_evicts_the_oldest_rows_first_and_keeps_lookups_consistent()
    {
        var table = new Table<Row>(maxRows: 10);
        for (var i = 0; i < 100; i++) table.Upsert(new Row($"evt_{i}", i));

        Assert.Equal(10, table.Count);
        Assert.Null(table.Find("evt_0"));
        Assert.False(table.TryNewestFirst("evt_50", out _));
        Assert.Equal("evt_99", table.OldestFirst().Last().Id);
        foreach (var row in table.OldestFirst()) Assert.Same(row, table.Find(row.Id));
        // Created order is kept: the survivors are the newest, oldest first.
        Assert.Equal(Enumerable.Range(90, 10).Select(i => (long)i), table.OldestFirst().Select(r => r.Created));
    }

    [Fact]
    public void Updating_a_kept_row_replaces_it_in_place_and_an_uncapped_table_keeps_everything()
    {
        var capped = new Table<Row>(maxRows: 3);
        for (var i = 0; i < 3; i++) capped.Upsert(new Row($"pi_{i}", i));
        capped.Upsert(new Row("pi_1", 1, "v2"));
        Assert.Equal(3, capped.Count);
        Assert.Equal("v2", capped.Find("pi_1")!.Version);
        Assert.Equal(["pi_0", "pi_1", "pi_2"], capped.OldestFirst().Select(r => r.Id));

        var all = new Table<Row>();
        for (var i = 0; i < 1_000; i++) all.Upsert(new Row($"pi_{i}", i));
        Assert.Equal(1_000, all.Count);
        Assert.NotNull(all.Find("pi_0"));
    }

    [Fact]
    public void Rows_removed_anywhere_leave_the_order_the_cursors_and_the_groups_of_the_rest_intact()
    {
        var table = new Table<Row>(groupOf: r => r.Group);
        for (var i = 0; i < 6; i++) table.Upsert(new Row($"ch_{i}", i, Group: $"pi_{i % 2}"));

        Assert.True(table.Remove("ch_2"));
        Assert.True(table.Remove("ch_0"));
        Assert.False(table.Remove("ch_0"));

        Assert.Equal(["ch_1", "ch_3", "ch_4", "ch_5"], table.OldestFirst().Select(r => r.Id));
        Assert.True(table.TryNewestFirst("ch_4", out var older));
        Assert.Equal(["ch_3", "ch_1"], older.Select(r => r.Id));
        Assert.True(table.TryOldestFirstAfter("ch_3", out var newer));
        Assert.Equal(["ch_4", "ch_5"], newer.Select(r => r.Id));
        Assert.Equal(["ch_4"], table.IdsIn("pi_0"));
        Assert.Equal(["ch_1", "ch_3", "ch_5"], table.IdsIn("pi_1"));
        Assert.Equal("ch_1", table.Oldest!.Id);
    }

    [Fact]
    public void A_chunked_read_goes_on_after_removals_and_stops_at_the_rows_present_when_it_began()
    {
        var table = new Table<Row>(maxRows: 8);
        for (var i = 0; i < 6; i++) table.Upsert(new Row($"evt_{i}", i));
        var until = table.NextSeq;
        var cursor = new TableCursor();
        var chunk = new IStored[2];
        var read = new List<string>();

        Assert.Equal(2, table.ReadChunk(cursor, chunk, until));
        read.AddRange(chunk.Select(r => r.Id));
        // Between two chunks: the row read last is removed, and new rows push the oldest out of the capped table.
        Assert.True(table.Remove("evt_1"));
        for (var i = 6; i < 11; i++) table.Upsert(new Row($"evt_{i}", i));
        int n;
        while ((n = table.ReadChunk(cursor, chunk, until)) > 0) read.AddRange(chunk.Take(n).Select(r => r.Id));

        // evt_2 was pushed out before it was reached; the rows added after the read began are not part of it.
        Assert.Equal(["evt_0", "evt_1", "evt_3", "evt_4", "evt_5"], read);
    }
}

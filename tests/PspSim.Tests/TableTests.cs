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

    [Fact]
    public void A_newest_first_walk_for_rows_created_since_a_time_stops_where_no_older_row_can_be_and_skips_none()
    {
        var table = new Table<Row>();
        // Creation times mostly rising, some out of order (bulk lines booked in the past), some rows removed.
        long[] created = [10, 11, 5, 12, 20, 21, 19, 22, 30, 31];
        for (var i = 0; i < created.Length; i++) table.Upsert(new Row($"txn_{i}", created[i]));
        table.Remove("txn_7");

        foreach (var since in new long[] { 0, 6, 12, 13, 20, 22, 23, 31, 32 })
        {
            Assert.True(table.TryNewestFirst(null, since, out var walked));
            var rows = walked.ToList();
            // Every row created since then is reached (nothing is skipped)...
            Assert.Equal(table.OldestFirst().Where(r => r.Created >= since).Reverse().Select(r => r.Id), rows.Where(r => r.Created >= since).Select(r => r.Id));
            // ...and the walk ends at the oldest row whose own or earlier creation time reaches `since`.
            var maxSoFar = table.OldestFirst().Select((r, i) => table.OldestFirst().Take(i + 1).Max(x => x.Created)).ToList();
            Assert.Equal(maxSoFar.Count(m => m >= since), rows.Count);
        }
    }

    [Fact]
    public void A_row_replaced_by_one_created_at_another_time_makes_the_walk_read_everything_again()
    {
        var table = new Table<Row>();
        for (var i = 0; i < 5; i++) table.Upsert(new Row($"txn_{i}", i * 10));
        table.Upsert(new Row("txn_0", 100));

        Assert.True(table.TryNewestFirst(null, 50, out var walked));

        Assert.Equal(["txn_4", "txn_3", "txn_2", "txn_1", "txn_0"], walked.Select(r => r.Id));
    }
}

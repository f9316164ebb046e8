using Npgsql;
using Payrail.Reconciliation;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Reconciliation;

/// <summary>
/// The merged stream's exact order, which the result hash is taken in: keys bytewise (a reference that is a prefix of
/// another, followed by '_' below '|', sorts after it), a key's PSP lines by line id, then Payrail's movement once, then
/// the key's fee lines and the movement's fee; Payrail-only and PSP-only keys in their places. And the items a run copies,
/// as the readers get them back.
/// </summary>
public sealed class MergedStreamTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private const string Merchant = "m_merge";
    private static readonly DateTimeOffset At = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddHours(-2).ToUnixTimeSeconds());

    [Fact]
    public async Task Both_sides_come_out_in_bytewise_key_order_with_a_keys_lines_then_its_one_movement_then_their_fees()
    {
        await using (var connection = await postgres.OpenAsync())
        {
            await using var merchant = new NpgsqlCommand("INSERT INTO merchants (id, name) VALUES (@id, 'Merge Merchant')", connection);
            merchant.Parameters.AddWithValue("id", Merchant);
            await merchant.ExecuteNonQueryAsync();
            // pi_a_0000000 (named by two PSP lines), pi_a_0000000_0000000 (its reference extends the first's), pi_c_0000000 (no PSP line).
            foreach (var tag in new[] { "a", "a_0000000", "c" })
                await ReconciliationSeed.CapturedPaymentsAsync(connection, "stripe", Merchant, tag, 1, At, 1_000, CancellationToken.None);
        }
        await using var database = NpgsqlDataSource.Create(postgres.ConnectionString);
        var store = new ReconciliationStore(database);
        var window = new ReconciliationWindow(At.AddMinutes(-1), At.AddMinutes(1));
        await using var session = await store.BeginAsync("stripe", window, ReconciliationReport.OnceTrigger, dryRun: false, DateTimeOffset.UtcNow,
            CancellationToken.None);
        await session.StageAsync(Lines(Charge("txn_a2", "pi_a_0000000"), Charge("txn_p", "pi_a_0000000_0000000"), Charge("txn_a1", "pi_a_0000000"),
            Charge("txn_b", "pi_b_x"), new StagedLine(Line("txn_r", "re_1", LineKind.Refund))), CancellationToken.None);

        var rows = new List<string>();
        await foreach (var row in session.MergedAsync(window, TimeSpan.Zero, CancellationToken.None))
            rows.Add(row.Psp is { } line ? $"{line.Key} psp {line.LineId}" : $"{row.Payrail!.Key} payrail {row.Payrail.Status}");

        Assert.Equal(
        [
            "pi_a_0000000_0000000|charge psp txn_p", "pi_a_0000000_0000000|charge payrail captured",
            "pi_a_0000000_0000000|fee psp txn_p", "pi_a_0000000_0000000|fee payrail captured",
            "pi_a_0000000|charge psp txn_a1", "pi_a_0000000|charge psp txn_a2", "pi_a_0000000|charge payrail captured",
            "pi_a_0000000|fee psp txn_a1", "pi_a_0000000|fee psp txn_a2", "pi_a_0000000|fee payrail captured",
            "pi_b_x|charge psp txn_b", "pi_b_x|fee psp txn_b",
            "pi_c_0000000|charge payrail captured", "pi_c_0000000|fee payrail captured",
            "re_1|refund psp txn_r",
        ], rows);
    }

    [Fact]
    public async Task Items_read_back_as_written_nulls_uuids_non_ASCII_and_negative_amounts_included_and_a_run_not_completed_leaves_none()
    {
        await using var database = NpgsqlDataSource.Create(postgres.ConnectionString);
        var store = new ReconciliationStore(database);
        var window = new ReconciliationWindow(At.AddHours(-3), At.AddHours(-2));
        var payment = Guid.Parse("0b6f7c1e-2d3a-4b5c-8d9e-0f1a2b3c4d5e");
        var refund = Guid.Parse("1c7f8d2f-3e4b-5c6d-9e0f-1a2b3c4d5e6f");
        LineVerdict[] written =
        [
            new("ch_1|charge", LineKind.Charge, Buckets.Matched, "captured for the same amount", "txn_1", payment, null, "EUR", 1_999, 1_999),
            new("ré_\"x\",y|refund", LineKind.Refund, Buckets.AmountMismatch, "said \"no\",\nthen yes", null, null, refund, null, -250, null),
        ];
        long completed, abandoned;
        await using (var session = await store.BeginAsync("stripe", window, ReconciliationReport.OnceTrigger, false, DateTimeOffset.UtcNow, CancellationToken.None))
        {
            completed = session.Id;
            await using var items = await store.OpenItemsAsync(session.Id, CancellationToken.None);
            foreach (var verdict in written) items.Write(verdict);
            using var hash = new ResultHash();
            await items.CompleteAsync(new ReconciliationReport(session.Id, "stripe", window, ReconciliationReport.OnceTrigger, false, DateTimeOffset.UtcNow,
                TimeSpan.FromSeconds(1), 2, 0, 2, new Dictionary<string, long> { [Buckets.Matched] = 1, [Buckets.AmountMismatch] = 1 }, [], 0,
                hash.Finish(), null, null), CancellationToken.None);
        }
        await using (var session = await store.BeginAsync("stripe", window, ReconciliationReport.OnceTrigger, false, DateTimeOffset.UtcNow, CancellationToken.None))
        {
            abandoned = session.Id;
            await using var items = await store.OpenItemsAsync(session.Id, CancellationToken.None);
            foreach (var verdict in written) items.Write(verdict);
        }

        await using var connection = await postgres.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT run_id, n, match_key, bucket, reason, psp_line, payment_id, refund_id, currency, psp_amount_minor, payrail_amount_minor
            FROM reconciliation_items WHERE run_id IN (@completed, @abandoned) ORDER BY run_id, n
            """, connection);
        command.Parameters.AddWithValue("completed", completed);
        command.Parameters.AddWithValue("abandoned", abandoned);
        var rows = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
                rows.Add(string.Join(" / ", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "null" : Convert.ToString(reader.GetValue(i),
                    System.Globalization.CultureInfo.InvariantCulture))));
        }
        Assert.Equal(
        [
            $"{completed} / 1 / ch_1|charge / matched / captured for the same amount / txn_1 / {payment} / null / EUR / 1999 / 1999",
            $"{completed} / 2 / ré_\"x\",y|refund / amount_mismatch / said \"no\",\nthen yes / null / null / {refund} / null / -250 / null",
        ], rows);
    }

    private static StagedLine Charge(string lineId, string reference) => new(Line(lineId, reference, LineKind.Charge), 30, "USD");

    private static PspLine Line(string lineId, string reference, LineKind kind) =>
        new(LineKinds.Key(reference, kind), kind, lineId, reference, 1_000, "USD", "succeeded", 970, At, At.AddDays(2));

    private static async IAsyncEnumerable<StagedLine> Lines(params StagedLine[] lines)
    {
        foreach (var line in lines) yield return line;
        await Task.CompletedTask;
    }
}

using Npgsql;
using Payrail.Consumers;
using Payrail.Consumers.Accounting;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Consumers;

/// <summary>The day's settlement file: rewritten whole from the table, atomically, at most once per interval per day.</summary>
public sealed class SettlementFileTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IDisposable
{
    private static readonly DateOnly Day = new(2026, 11, 29);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "payrail-settlement-" + Guid.NewGuid().ToString("N"));
    private readonly SteppedClock _clock = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    private string FilePath => Path.Combine(_directory, SettlementFile.FileName(Day));

    [Fact]
    public async Task A_day_changed_within_the_interval_is_written_once_the_interval_has_passed_with_each_line_once()
    {
        await using var database = NpgsqlDataSource.Create(postgres.ConnectionString);
        var writer = new SettlementFileWriter(database, Options(), _clock);
        var first = await AddLineAsync(database, "capture");
        await writer.ChangedAsync([Day], CancellationToken.None);
        Assert.Equal([first], PaymentsInFile());

        var second = await AddLineAsync(database, "capture");
        _clock.Advance(TimeSpan.FromMilliseconds(400));
        await writer.ChangedAsync([Day, Day], CancellationToken.None);
        await writer.FlushAsync(final: false, CancellationToken.None);
        Assert.Equal([first], PaymentsInFile()); // within the interval: pending, not rewritten

        _clock.Advance(TimeSpan.FromMilliseconds(600));
        await writer.FlushAsync(final: false, CancellationToken.None);
        Assert.Equal([first, second], PaymentsInFile());

        await writer.ChangedAsync([Day], CancellationToken.None); // a redelivery: the same text again
        await writer.FlushAsync(final: true, CancellationToken.None);
        Assert.Equal([first, second], PaymentsInFile());
        Assert.Single(Directory.GetFiles(_directory)); // no temporary file left beside it
    }

    [Fact]
    public async Task A_pending_change_is_written_at_shutdown_and_a_lost_one_at_the_next_start()
    {
        await using var database = NpgsqlDataSource.Create(postgres.ConnectionString);
        var writer = new SettlementFileWriter(database, Options(), _clock);
        await writer.FlushAsync(final: false, CancellationToken.None);
        var line = await AddLineAsync(database, "refund");
        await writer.ChangedAsync([Day], CancellationToken.None);
        var pending = await AddLineAsync(database, "refund");
        await writer.ChangedAsync([Day], CancellationToken.None);
        Assert.DoesNotContain(pending, PaymentsInFile());
        await writer.FlushAsync(final: true, CancellationToken.None);
        Assert.Contains(pending, PaymentsInFile());

        // Killed with a write pending (no final flush): the next worker's first flush repairs the recent days.
        var lost = await AddLineAsync(database, "refund");
        File.Delete(FilePath);
        var restarted = new SettlementFileWriter(database, Options(), _clock);
        await restarted.FlushAsync(final: false, CancellationToken.None);
        Assert.Equal([line, pending, lost], PaymentsInFile());
    }

    private AccountingOptions Options() => new() { SettlementDirectory = _directory, MinFileIntervalMs = 1_000, RepairDays = 7 };

    private List<Guid> PaymentsInFile() => File.ReadAllLines(FilePath).Skip(1)
        .Select(line => Guid.Parse(line.Split(',')[0])).Where(IsMine).ToList();

    private readonly HashSet<Guid> _mine = [];

    private bool IsMine(Guid payment) => _mine.Contains(payment);

    private async Task<Guid> AddLineAsync(NpgsqlDataSource database, string kind)
    {
        var payment = Guid.CreateVersion7();
        _mine.Add(payment);
        await using var command = database.CreateCommand("""
            INSERT INTO settlement_lines (event_id, payment_id, kind, settlement_date, merchant_id, currency, amount_minor, occurred_at)
            VALUES (gen_random_uuid(), @payment_id, @kind, @day, 'm_file', 'USD', 1999, @at)
            """);
        command.Parameters.AddWithValue("payment_id", payment);
        command.Parameters.AddWithValue("kind", kind);
        command.Parameters.AddWithValue("day", Day);
        command.Parameters.AddWithValue("at", new DateTimeOffset(2026, 11, 29, 10, 0, 0, TimeSpan.Zero));
        await command.ExecuteNonQueryAsync();
        return payment;
    }

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    /// <summary>A clock the test moves by hand.</summary>
    private sealed class SteppedClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public void Advance(TimeSpan by) => _now += by;

        public override DateTimeOffset GetUtcNow() => _now;
    }
}

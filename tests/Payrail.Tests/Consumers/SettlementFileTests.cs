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

    [Fact]
    public async Task A_line_that_commits_late_below_the_lines_already_appended_is_written_once_in_id_order()
    {
        await using var database = NpgsqlDataSource.Create(postgres.ConnectionString);
        var writer = new SettlementFileWriter(database, Options(), _clock);
        var first = await AddLineAsync(database, "capture");
        await writer.ChangedAsync([Day], CancellationToken.None);

        // A transaction takes its line's id and commits after a later line was appended to the file.
        await using var held = await database.OpenConnectionAsync();
        await using var transaction = await held.BeginTransactionAsync();
        var late = await AddLineAsync(held, transaction, "capture");
        var later = await AddLineAsync(database, "capture");
        _clock.Advance(TimeSpan.FromSeconds(1));
        await writer.ChangedAsync([Day], CancellationToken.None);
        Assert.Equal([first, later], PaymentsInFile());
        await transaction.CommitAsync();

        var after = await AddLineAsync(database, "capture");
        _clock.Advance(TimeSpan.FromSeconds(1));
        await writer.ChangedAsync([Day], CancellationToken.None);
        Assert.Equal([first, late, later, after], PaymentsInFile());
        Assert.Equal(SettlementFile.Render(await SettlementFile.ReadAsync(database, Day, 1_000_000, CancellationToken.None)),
            await File.ReadAllTextAsync(FilePath));
    }

    [Fact]
    public async Task Lines_after_the_first_write_are_appended_and_the_file_is_the_read_apis_text()
    {
        await using var database = NpgsqlDataSource.Create(postgres.ConnectionString);
        var writer = new SettlementFileWriter(database, Options(), _clock);
        await AddLineAsync(database, "capture");
        await writer.ChangedAsync([Day], CancellationToken.None);
        // Held open: an append shows through this handle, a rewrite (a new file renamed into place) would not.
        await using var original = new FileStream(FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var added = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            added.Add(await AddLineAsync(database, "refund"));
            _clock.Advance(TimeSpan.FromSeconds(1));
            await writer.ChangedAsync([Day], CancellationToken.None);
        }

        Assert.Equal(await File.ReadAllTextAsync(FilePath), await new StreamReader(original).ReadToEndAsync());
        Assert.Equal(added, PaymentsInFile().TakeLast(3));
        Assert.Equal(SettlementFile.Render(await SettlementFile.ReadAsync(database, Day, 1_000_000, CancellationToken.None)),
            await File.ReadAllTextAsync(FilePath));
    }

    private AccountingOptions Options() => new() { SettlementDirectory = _directory, MinFileIntervalMs = 1_000, RepairDays = 7 };

    private List<Guid> PaymentsInFile() => File.ReadAllLines(FilePath).Skip(1)
        .Select(line => Guid.Parse(line.Split(',')[0])).Where(IsMine).ToList();

    private readonly HashSet<Guid> _mine = [];

    private bool IsMine(Guid payment) => _mine.Contains(payment);

    private async Task<Guid> AddLineAsync(NpgsqlDataSource database, string kind)
    {
        await using var connection = await database.OpenConnectionAsync();
        return await AddLineAsync(connection, null, kind);
    }

    private async Task<Guid> AddLineAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string kind)
    {
        var payment = Guid.CreateVersion7();
        _mine.Add(payment);
        await using var command = new NpgsqlCommand("""
            INSERT INTO settlement_lines (event_id, payment_id, kind, settlement_date, merchant_id, currency, amount_minor, occurred_at)
            VALUES (gen_random_uuid(), @payment_id, @kind, @day, 'm_file', 'USD', 1999, @at)
            """, connection, transaction);
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

using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Payrail.Consumers;
using Payrail.Consumers.Notifications;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Consumers;

/// <summary>
/// The notifications dispatcher: sends what the table holds unsent, apart from the consumer loop. A message committed
/// is sent once (file by message id), whatever fails or runs beside it; nothing unsent is ever marked sent.
/// </summary>
public sealed class NotificationDispatchTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IDisposable
{
    private readonly string _mail = Path.Combine(Path.GetTempPath(), "payrail-dispatch-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task A_failed_send_marks_nothing_and_the_next_round_sends_every_message_once()
    {
        await using var database = ConsumerDatabase.Create(await postgres.CreateDatabaseAsync(), new());
        var ids = await StoreUnsentAsync(database, 30);
        var files = new FileNotificationSender(Options(batch: 100));
        var failing = new CountingSender(files, failAfter: 10);
        await Assert.ThrowsAsync<IOException>(() => Dispatch(database, failing, 100).RunOnceAsync(CancellationToken.None));
        Assert.Equal(30, await UnsentAsync(database));

        var counting = new CountingSender(files);
        Assert.Equal(30, await Dispatch(database, counting, 100).RunOnceAsync(CancellationToken.None));
        Assert.Equal(0, await UnsentAsync(database));
        Assert.Equal(0, await Dispatch(database, counting, 100).RunOnceAsync(CancellationToken.None));
        Assert.Equal(ids.Order(), Directory.GetFiles(_mail, "*.eml").Select(f => Guid.Parse(Path.GetFileNameWithoutExtension(f))).Order());
        Assert.Empty(Directory.GetFiles(_mail, "*.tmp"));
    }

    [Fact]
    public async Task Two_dispatchers_at_once_hand_each_message_to_the_sender_once()
    {
        await using var database = ConsumerDatabase.Create(await postgres.CreateDatabaseAsync(), new());
        var ids = await StoreUnsentAsync(database, 400);
        var counting = new CountingSender(new FileNotificationSender(Options(batch: 25)));
        var dispatchers = new[] { Dispatch(database, counting, 25), Dispatch(database, counting, 25) };

        await Task.WhenAll(dispatchers.Select(d => Task.Run(async () =>
        {
            while (await d.RunOnceAsync(CancellationToken.None) > 0) { }
        })));

        Assert.Equal(0, await UnsentAsync(database));
        Assert.Equal(ids.Order(), counting.Sent.Keys.Order());
        Assert.All(counting.Sent, s => Assert.Equal(1, s.Value));
    }

    [Fact]
    public async Task A_round_past_its_deadline_is_retried_and_the_dispatcher_keeps_running()
    {
        await using var database = ConsumerDatabase.Create(await postgres.CreateDatabaseAsync(), new());
        var ids = await StoreUnsentAsync(database, 5);
        var options = Options(batch: 100);
        options.HandlerTimeoutMs = 200;
        options.RetryBaseDelayMs = 10;
        var counting = new CountingSender(new FileNotificationSender(options), stallFirst: 1);
        using var dispatcher = new NotificationDispatch(database, counting, options, TimeProvider.System, NullLogger<NotificationDispatch>.Instance);

        await dispatcher.StartAsync(CancellationToken.None);
        await Eventually.TrueAsync(async () => dispatcher.ExecuteTask!.IsCompleted || await UnsentAsync(database) == 0,
            TimeSpan.FromSeconds(30), "the stalled round's messages are sent or the dispatcher stopped");

        Assert.False(dispatcher.ExecuteTask!.IsCompleted, $"the dispatcher stopped: {dispatcher.ExecuteTask.Status}");
        Assert.Equal(0, await UnsentAsync(database));
        Assert.Equal(ids.Order(), counting.Sent.Keys.Order());
        await dispatcher.StopAsync(CancellationToken.None);
    }

    private ConsumersOptions Options(int batch) =>
        new() { Notifications = new() { MailDirectory = _mail, DispatchBatchSize = batch } };

    private NotificationDispatch Dispatch(ConsumerDatabase database, INotificationSender sender, int batch) =>
        new(database, sender, Options(batch), TimeProvider.System, NullLogger<NotificationDispatch>.Instance);

    private static async Task<List<Guid>> StoreUnsentAsync(ConsumerDatabase database, int count)
    {
        var ids = Enumerable.Range(0, count).Select(_ => Guid.CreateVersion7()).ToList();
        await using var command = database.Source.CreateCommand("""
            INSERT INTO notifications (id, event_id, payment_id, audience, recipient, template, subject, body)
            SELECT id, gen_random_uuid(), gen_random_uuid(), 'buyer', 'buyer:b_dispatch', 'payment_completed_buyer', 'Subject', 'Body'
            FROM unnest(@ids) AS id
            """);
        command.Parameters.AddWithValue("ids", ids.ToArray());
        await command.ExecuteNonQueryAsync();
        return ids;
    }

    private static async Task<long> UnsentAsync(ConsumerDatabase database)
    {
        await using var command = database.Source.CreateCommand("SELECT count(*) FROM notifications WHERE sent_at IS NULL");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// Counts what reaches the sender per message id; fails (as a full disk would) after <c>failAfter</c> sends; the first
    /// <c>stallFirst</c> sends hang until their round's deadline cancels them (as a stalled disk would).
    /// </summary>
    private sealed class CountingSender(INotificationSender inner, int failAfter = int.MaxValue, int stallFirst = 0) : INotificationSender
    {
        private int _sends;

        public ConcurrentDictionary<Guid, int> Sent { get; } = new();

        public async Task SendAsync(NotificationMessage message, CancellationToken cancellationToken)
        {
            var send = Interlocked.Increment(ref _sends);
            if (send <= stallFirst) await Task.Delay(Timeout.Infinite, cancellationToken);
            if (send > failAfter) throw new IOException("disk full (simulated)");
            Sent.AddOrUpdate(message.Id, 1, (_, n) => n + 1);
            await inner.SendAsync(message, cancellationToken);
            await Task.Yield(); // lets the other dispatcher run between sends
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_mail, recursive: true); } catch (IOException) { }
    }
}

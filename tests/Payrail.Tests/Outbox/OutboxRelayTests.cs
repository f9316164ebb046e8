using System.Text.Json;
using Npgsql;
using Payrail.Outbox;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Outbox;

/// <summary>
/// The outbox relay against real PostgreSQL and devkafka: what reaches <c>payments.v1</c>, in which order, and what a
/// crash, a late commit or a second relay can and cannot do to it (issue 10 "Tests").
/// </summary>
public sealed class OutboxRelayTests(PostgresFixture postgres, DevKafkaFixture kafka)
    : IClassFixture<PostgresFixture>, IClassFixture<DevKafkaFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_event_goes_out_keyed_by_payment_in_cloudevents_binary_mode_and_is_marked_published()
    {
        await using var bed = await RelayTestBed.CreateAsync(postgres, kafka);
        var payment = Guid.NewGuid();
        var sent = (await bed.InsertEventsAsync([payment], 1)).Single();
        bed.StartRelay();

        var message = (await bed.ReadTopicAsync(1, Deadline)).Single();
        await Eventually.TrueAsync(async () => await bed.UnpublishedAsync() == 0, Deadline, "the row is marked published");

        Assert.Equal(payment.ToString(), message.Key);
        Assert.Equal(sent.Id.ToString(), message.Headers["ce_id"]);
        Assert.Equal("payment.captured", message.Headers["ce_type"]);
        Assert.Equal("/payrail/payments", message.Headers["ce_source"]);
        Assert.Equal("1.0", message.Headers["ce_specversion"]);
        Assert.Equal(payment.ToString(), message.Headers["ce_subject"]);
        Assert.Equal(sent.OccurredAt, DateTimeOffset.Parse(message.Headers["ce_time"]), TimeSpan.FromMilliseconds(1));
        Assert.Equal("application/json", message.Headers["content-type"]);
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-01$", message.Headers["traceparent"]);
        Assert.Equal(sent.ToJson(), message.Body);
        Assert.Equal("schema_version", JsonDocument.Parse(message.Body).RootElement.EnumerateObject().First().Name);
        Assert.Equal(1, await bed.ScalarAsync("SELECT attempts FROM outbox"));
    }

    [Fact]
    public async Task A_relay_killed_between_produce_and_mark_published_duplicates_on_the_wire_but_loses_nothing()
    {
        await using var bed = await RelayTestBed.CreateAsync(postgres, kafka);
        var payments = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).ToList();
        var sent = await bed.InsertEventsAsync(payments, 3);
        var killed = 0;
        var crash = new RelayCrashPoints
        {
            AfterDeliveredBeforeMarked = _ =>
            {
                Interlocked.Increment(ref killed);
                throw new InvalidOperationException("simulated kill after Kafka acknowledged, before the rows were marked");
            },
        };
        var first = bed.StartRelay(crash);
        await Eventually.TrueAsync(() => first.ExecuteTask is { IsFaulted: true }, Deadline, "the first relay dies at the crash point");
        Assert.Equal(1, killed);
        Assert.Equal(sent.Count, await bed.UnpublishedAsync());

        bed.StartRelay();
        await Eventually.TrueAsync(async () => await bed.UnpublishedAsync() == 0, Deadline, "the second relay publishes everything again");
        var wire = await bed.ReadTopicAsync(2 * sent.Count, Deadline);

        Assert.Equal(2 * sent.Count, wire.Count); // every event twice: at least once, never lost
        Assert.Equal(sent.Select(e => e.Id).ToHashSet(), wire.Select(m => m.EventId).ToHashSet());
        AssertEachPaymentInOrder(sent, wire);
    }

    [Fact]
    public async Task A_row_committed_after_a_later_row_was_published_is_still_published()
    {
        await using var bed = await RelayTestBed.CreateAsync(postgres, kafka);
        bed.StartRelay();
        var early = RelayTestBed.Event(Guid.NewGuid(), 1);
        var late = RelayTestBed.Event(Guid.NewGuid(), 1);

        // The early transaction takes the lower seq and stays open while a later one commits and is published.
        await using var held = new NpgsqlConnection(bed.ConnectionString);
        await held.OpenAsync();
        await using var transaction = await held.BeginTransactionAsync();
        await using (var insertEarly = new NpgsqlBatch(held, transaction) { BatchCommands = { OutboxWrites.Insert(early.PaymentId, [early])! } })
            await insertEarly.ExecuteNonQueryAsync();
        await using (var connection = new NpgsqlConnection(bed.ConnectionString))
        {
            await connection.OpenAsync();
            await using var insertLate = new NpgsqlBatch(connection) { BatchCommands = { OutboxWrites.Insert(late.PaymentId, [late])! } };
            await insertLate.ExecuteNonQueryAsync();
        }
        await Eventually.TrueAsync(async () => await bed.ScalarAsync("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL") == 1,
            Deadline, "the later row is published while the earlier one is uncommitted");
        await transaction.CommitAsync();

        await Eventually.TrueAsync(async () => await bed.UnpublishedAsync() == 0, Deadline, "the late-committed row is published too");
        var wire = await bed.ReadTopicAsync(2, Deadline);
        Assert.Equal(new HashSet<Guid> { early.Id, late.Id }, wire.Select(m => m.EventId).ToHashSet());
        Assert.Equal(1, await bed.ScalarAsync(
            $"SELECT ((SELECT seq FROM outbox WHERE id = '{early.Id}') < (SELECT seq FROM outbox WHERE id = '{late.Id}'))::int"));
    }

    [Fact]
    public async Task Two_relays_keep_each_payments_order_over_10000_events_on_1000_payments_and_lose_none_when_one_is_killed()
    {
        await using var bed = await RelayTestBed.CreateAsync(postgres, kafka, o => o.BatchSize = 250);
        var rounds = 0;
        var crash = new RelayCrashPoints
        {
            // The first relay dies in the middle of the run, after its fifth acknowledged round, before marking it.
            AfterDeliveredBeforeMarked = _ =>
            {
                if (Interlocked.Increment(ref rounds) == 5) throw new InvalidOperationException("simulated kill");
            },
        };
        var first = bed.StartRelay(crash);
        var second = bed.StartRelay();
        await Eventually.TrueAsync(() => first.OwnedPartitions.Count > 0 && second.OwnedPartitions.Count > 0
            && first.OwnedPartitions.Count + second.OwnedPartitions.Count == bed.Options.OwnershipPartitions,
            Deadline, "the two relays share the partitions");
        Assert.Empty(first.OwnedPartitions.Intersect(second.OwnedPartitions));

        var payments = Enumerable.Range(0, 1_000).Select(_ => Guid.NewGuid()).ToList();
        var sent = await bed.InsertEventsAsync(payments, 10);
        await Eventually.TrueAsync(() => first.ExecuteTask is { IsFaulted: true }, Deadline, "the first relay is killed mid-run");
        await Eventually.TrueAsync(() => second.OwnedPartitions.Count == bed.Options.OwnershipPartitions, TimeSpan.FromSeconds(5),
            "the surviving relay owns every partition within seconds");
        await Eventually.TrueAsync(async () => await bed.UnpublishedAsync() == 0, Deadline, "every event is published");

        var published = await bed.ScalarAsync("SELECT count(*) FROM outbox");
        Assert.Equal(10_000, published);
        var wire = await bed.ReadTopicAsync(10_000, Deadline, distinctEvents: true);
        Assert.Equal(sent.Select(e => e.Id).ToHashSet(), wire.Select(m => m.EventId).ToHashSet());
        AssertEachPaymentInOrder(sent, wire);
    }

    /// <summary>
    /// What a consumer that dedupes by event id sees: each payment's first deliveries, in partition order, follow its
    /// versions 1, 2, 3, ... and every message of a payment sits in one Kafka partition.
    /// </summary>
    internal static void AssertEachPaymentInOrder(IReadOnlyList<OutboxEvent> sent, IReadOnlyList<WireMessage> wire)
    {
        var versionOf = sent.ToDictionary(e => e.Id, e => e.PaymentVersion);
        foreach (var payment in wire.GroupBy(m => m.Key))
        {
            Assert.Single(payment.Select(m => m.Partition).Distinct());
            var firstSeen = payment.OrderBy(m => m.Offset).Select(m => m.EventId).Distinct().Select(id => versionOf[id]).ToList();
            Assert.Equal(Enumerable.Range(1, firstSeen.Count), firstSeen);
        }
    }
}

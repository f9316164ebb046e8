using Npgsql;
using Payrail.Consumers;
using Payrail.Consumers.Fraud;
using Payrail.Outbox;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Consumers;

/// <summary>The fraud handler's batch (two statements however many events) judges exactly as one event at a time would.</summary>
public sealed class FraudBatchTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task A_batch_writes_the_reviews_one_event_at_a_time_would_write_even_with_later_events_earlier_in_time()
    {
        var events = Events(new Random(20261201));
        var handler = new FraudHandler(new ConsumersOptions());

        var oneByOne = await postgres.CreateDatabaseAsync();
        foreach (var e in events) await ApplyAsync(oneByOne, handler, [e]);
        var batched = await postgres.CreateDatabaseAsync();
        await ApplyAsync(batched, handler, events);

        var expected = await ReviewsAsync(oneByOne);
        Assert.Contains(expected, r => r.Contains(FraudRules.BuyerVelocity, StringComparison.Ordinal));
        Assert.Contains(expected, r => r.Contains(FraudRules.DeclineBurst, StringComparison.Ordinal));
        Assert.Equal(expected, await ReviewsAsync(batched));
    }

    [Fact]
    public async Task Counts_bounded_past_the_limits_judge_a_buyer_with_a_full_window_as_unbounded_counts_would()
    {
        // 150 attempts and declines already in the window, then a batch of 40 of the same buyer spread through it: every
        // count reaches the bound (the limits plus the batch), and the batch's later events are taken off afterwards.
        const string buyer = "b_fraud_full_window";
        var history = Enumerable.Range(0, 150).Select(i => Attempt(buyer, i % 10 == 0, secondsIntoDay: 3_600 + i * 3)).ToList();
        var batch = Enumerable.Range(0, 40).Select(i => Attempt(buyer, i % 4 == 0, secondsIntoDay: 3_600 + 450 - i * 11)).ToList();
        var handler = new FraudHandler(new ConsumersOptions());
        Assert.True(FraudHandler.CountBound(new ConsumersOptions().Fraud, batch.Count) < 150);

        var oneByOne = await postgres.CreateDatabaseAsync();
        var batched = await postgres.CreateDatabaseAsync();
        foreach (var database in new[] { oneByOne, batched })
            foreach (var e in history) await ApplyAsync(database, handler, [e]);
        foreach (var e in batch) await ApplyAsync(oneByOne, handler, [e]);
        await ApplyAsync(batched, handler, batch);

        var reviews = await ReviewsAsync(batched);
        Assert.Equal(await ReviewsAsync(oneByOne), reviews);
        var ofBatch = batch.Select(e => e.Id.ToString()).ToHashSet();
        Assert.All(reviews.Where(r => ofBatch.Contains(r.Split(' ')[0])), r => Assert.Contains(FraudRules.BuyerVelocity, r, StringComparison.Ordinal));
        Assert.Contains(reviews, r => ofBatch.Contains(r.Split(' ')[0]) && r.Contains(FraudRules.DeclineBurst, StringComparison.Ordinal));
    }

    private static OutboxEvent Attempt(string buyer, bool declined, int secondsIntoDay) => declined
        ? TestEvents.Event(EventTypes.PaymentFailed, Guid.CreateVersion7(), 2, "failed", "m_fraud_batch", buyer, secondsIntoDay: secondsIntoDay)
        : TestEvents.Event(EventTypes.PaymentInitiated, Guid.CreateVersion7(), 1, "initiated", "m_fraud_batch", buyer, secondsIntoDay: secondsIntoDay);

    /// <summary>
    /// 120 attempts and declines of four buyers, in an order that is not their time order (as partitions interleave): some
    /// later in the batch are earlier in time, and the windows (600 s) cut through the spread.
    /// </summary>
    private static List<OutboxEvent> Events(Random random)
    {
        var events = new List<OutboxEvent>();
        for (var i = 0; i < 120; i++)
        {
            var buyer = "b_fraud_batch_" + random.Next(4);
            var payment = Guid.CreateVersion7();
            var seconds = i * 20 + random.Next(-300, 300);
            events.Add(random.Next(3) == 0
                ? TestEvents.Event(EventTypes.PaymentFailed, payment, 2, "failed", "m_fraud_batch", buyer, secondsIntoDay: 3_600 + seconds)
                : TestEvents.Event(EventTypes.PaymentInitiated, payment, 1, "initiated", "m_fraud_batch", buyer, secondsIntoDay: 3_600 + seconds));
        }
        return events;
    }

    private static async Task ApplyAsync(string connectionString, FraudHandler handler, IReadOnlyList<OutboxEvent> events)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await handler.ApplyAsync(transaction, events, CancellationToken.None);
        await transaction.CommitAsync();
    }

    private static async Task<List<string>> ReviewsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT event_id || ' ' || score || ' ' || array_to_string(reasons, ',') FROM fraud_reviews ORDER BY event_id", connection);
        var reviews = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) reviews.Add(reader.GetString(0));
        return reviews;
    }
}

using System.Text;
using Confluent.Kafka;
using CsCheck;
using Payrail.Consumers;
using Payrail.Consumers.Dashboard;
using Payrail.Consumers.Fraud;
using Payrail.Consumers.Loyalty;
using Payrail.Outbox;
using Xunit;

namespace Payrail.Tests.Consumers;

/// <summary>The pure decisions of the consumers, without a broker or a database.</summary>
public sealed class ConsumerRulesTests
{
    private static readonly FraudOptions Fraud = new()
    {
        MaxPaymentsPerBuyer = 3, MaxPaymentsPerInstrument = 2, MaxDeclinesPerBuyer = 2,
        AmountThresholdsMinor = new(StringComparer.OrdinalIgnoreCase) { ["USD"] = 10_000 },
    };

    [Fact]
    public void A_quiet_buyer_with_a_small_amount_scores_zero() =>
        Assert.Equal(new FraudVerdict(0, []), FraudRules.Evaluate(new(1, null, 0), 999, "USD", Fraud) with { Reasons = [] });

    [Fact]
    public void Every_rule_that_fires_is_named_and_the_score_is_capped_at_100()
    {
        var verdict = FraudRules.Evaluate(new FraudWindowCounts(4, 3, 2), 10_001, "USD", Fraud);

        Assert.Equal([FraudRules.BuyerVelocity, FraudRules.InstrumentVelocity, FraudRules.AmountOverThreshold, FraudRules.DeclineBurst],
            verdict.Reasons);
        Assert.Equal(FraudRules.MaxScore, verdict.Score);
    }

    [Fact]
    public void Amounts_in_a_currency_without_a_threshold_are_not_flagged() =>
        Assert.Empty(FraudRules.Evaluate(new(1, null, 0), 99_999_999, "EUR", Fraud).Reasons);

    [Fact]
    public void Points_are_floored_per_whole_currency_unit()
    {
        Assert.Equal(199, LoyaltyPoints.Earned(1999, "USD", 10));
        Assert.Equal(19_990, LoyaltyPoints.Earned(1999, "JPY", 10));
        Assert.Equal(19, LoyaltyPoints.Earned(1999, "KWD", 10));
    }

    [Fact]
    public void Reversals_never_take_back_more_than_was_earned_and_a_full_refund_takes_back_all()
    {
        Gen.Select(Gen.Long[0, 1_000_000], Gen.Long[1, 99_999_999], Gen.Long[0, 99_999_999], Gen.Long[0, 99_999_999]).Sample(
            (earned, captured, firstRefund, secondRefund) =>
            {
                var first = LoyaltyPoints.ToReverse(earned, 0, Math.Min(firstRefund, captured), captured);
                var total = Math.Min(captured, Math.Max(firstRefund, secondRefund));
                var second = LoyaltyPoints.ToReverse(earned, first, total, captured);
                return first >= 0 && second >= 0 && first + second <= earned
                    && LoyaltyPoints.ToReverse(earned, 0, captured, captured) == earned;
            });
    }

    [Fact]
    public void Amounts_are_printed_from_minor_units_with_the_currency_exponent()
    {
        Assert.Equal("19.99", MinorUnits.Format(1999, "USD"));
        Assert.Equal("0.05", MinorUnits.Format(5, "EUR"));
        Assert.Equal("1999", MinorUnits.Format(1999, "JPY"));
        Assert.Equal("1.999", MinorUnits.Format(1999, "KWD"));
    }

    [Fact]
    public void Derived_ids_are_stable_per_event_and_purpose_and_differ_otherwise()
    {
        var e = Guid.CreateVersion7();
        Assert.Equal(MinorUnits.DerivedId(e, "buyer"), MinorUnits.DerivedId(e, "buyer"));
        Assert.NotEqual(MinorUnits.DerivedId(e, "buyer"), MinorUnits.DerivedId(e, "merchant"));
        Assert.NotEqual(MinorUnits.DerivedId(e, "buyer"), MinorUnits.DerivedId(Guid.CreateVersion7(), "buyer"));
    }

    [Fact]
    public void A_message_of_the_contract_reads_as_its_event()
    {
        var e = TestEvents.Completed(Guid.CreateVersion7(), "m_1", "b_1")[3];
        var read = CloudEventMessage.Read(EventWire.CloudEventHeaders(e.Id, e.Type), Encoding.UTF8.GetBytes(e.ToJson()));

        Assert.Equal(MessageKind.Event, read.Kind);
        Assert.Equal(e, read.Event! with { Payment = e.Payment });
        Assert.Equal(e.Payment, read.Event!.Payment);
    }

    [Theory]
    [InlineData(null, MessageKind.MissingHeaders)]
    [InlineData("payment.teleported", MessageKind.UnknownType)]
    [InlineData("payment.completed", MessageKind.Unparsable)]
    public void Bad_messages_are_told_apart(string? type, MessageKind expected)
    {
        var headers = type is null ? new Headers() : EventWire.CloudEventHeaders(Guid.CreateVersion7(), type);
        Assert.Equal(expected, CloudEventMessage.Read(headers, "{\"nope\":"u8.ToArray()).Kind);
    }

    [Fact]
    public void A_body_that_contradicts_its_headers_or_breaks_an_invariant_is_unparsable()
    {
        var e = TestEvents.Completed(Guid.CreateVersion7(), "m_1", "b_1")[2];
        Assert.Equal(MessageKind.Unparsable,
            CloudEventMessage.Read(EventWire.CloudEventHeaders(Guid.CreateVersion7(), e.Type), Encoding.UTF8.GetBytes(e.ToJson())).Kind);
        var negative = e with { Payment = e.Payment with { AmountMinor = -5 } };
        Assert.Equal(MessageKind.Unparsable,
            CloudEventMessage.Read(EventWire.CloudEventHeaders(e.Id, e.Type), Encoding.UTF8.GetBytes(negative.ToJson())).Kind);
        var future = e with { SchemaVersion = OutboxEvent.CurrentSchemaVersion + 1 };
        Assert.Equal(MessageKind.Unparsable,
            CloudEventMessage.Read(EventWire.CloudEventHeaders(e.Id, e.Type), Encoding.UTF8.GetBytes(future.ToJson())).Kind);
    }

    [Fact]
    public void Consumer_settings_name_each_broken_bound()
    {
        var options = new ConsumersOptions { MaxAttempts = 0, DeadLetterTopic = "payments.v1", PollTimeoutMs = 0, FetchMinBytes = 0, FetchWaitMaxMs = 1_001 };
        var problems = options.Problems().ToList();

        Assert.Contains(problems, p => p.StartsWith("Consumers:FetchMinBytes", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Consumers:FetchWaitMaxMs", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Consumers:MaxAttempts", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Consumers:DeadLetterTopic", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Consumers:PollTimeoutMs", StringComparison.Ordinal));
        Assert.Empty(new ConsumersOptions().Problems());
    }
}

/// <summary>The dashboard's in-process fan-out: every subscriber of a merchant gets each update; a slow one loses its oldest.</summary>
public sealed class DashboardFeedTests
{
    private static DashboardUpdate Update(string merchant, int version) =>
        new(Guid.CreateVersion7(), EventTypes.PaymentCaptured, Guid.CreateVersion7(), merchant, "captured", 100, "USD", version, DateTimeOffset.UnixEpoch);

    [Fact]
    public void Each_subscriber_sees_its_merchants_updates_and_a_full_buffer_drops_the_oldest_without_blocking()
    {
        var feed = new DashboardFeed(new ConsumersOptions { Dashboard = { SubscriberBufferEvents = 2, MaxSubscribers = 2 } });
        using var mine = feed.Subscribe("m_1")!;
        using var everyone = feed.Subscribe(null)!;
        Assert.Null(feed.Subscribe("m_2"));

        for (var version = 1; version <= 3; version++) feed.Publish(Update("m_1", version));
        feed.Publish(Update("m_2", 1));

        Assert.True(mine.Updates.TryRead(out var first));
        Assert.Equal(2, first.PaymentVersion);
        Assert.Equal(1, mine.Dropped);
        Assert.Equal(2, everyone.Dropped);
        everyone.Dispose();
        Assert.Equal(1, feed.SubscriberCount);
    }
}

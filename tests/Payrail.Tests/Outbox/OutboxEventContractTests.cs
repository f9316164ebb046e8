using System.Text.Json;
using Payrail.Domain.Payments;
using Payrail.Outbox;
using Payrail.Payments;
using Xunit;

namespace Payrail.Tests.Outbox;

/// <summary>
/// The event body is the contract every consumer reads (DESIGN.md "Events and Kafka"): these tests pin it field by field,
/// so a change to it is a deliberate one (and one that raises <c>schema_version</c> when it is not an addition).
/// </summary>
public sealed class OutboxEventContractTests
{
    private static readonly DateTimeOffset Created = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Captured = Created.AddTicks(1_234_560);

    private static PaymentRecord CapturedPayment() => new(
        Guid.Parse("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"), "m_contract", "b_contract", 1999, "EUR", PaymentStatus.Captured,
        CaptureMethod.Automatic, "stripe", "pi_contract", 1999, 0, null, null, "a private description",
        new Dictionary<string, string> { ["order"] = "o_1" }, 4, Created, Captured);

    [Fact]
    public void A_payment_event_is_written_as_schema_version_1_with_every_field_named_and_nothing_else()
    {
        var payment = CapturedPayment();
        var e = PaymentChange.Event(EventTypes.PaymentCaptured, payment, new TransitionStep(PaymentStatus.Authorized, PaymentStatus.Captured), Captured);

        var json = JsonDocument.Parse(e.ToJson()).RootElement;

        Assert.Equal(
            ["schema_version", "id", "type", "payment_id", "payment_version", "occurred_at", "previous_status", "payment"],
            json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1, json.GetProperty("schema_version").GetInt32());
        Assert.Equal(e.Id.ToString(), json.GetProperty("id").GetString());
        Assert.Equal("payment.captured", json.GetProperty("type").GetString());
        Assert.Equal("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", json.GetProperty("payment_id").GetString());
        Assert.Equal(4, json.GetProperty("payment_version").GetInt32());
        Assert.Equal("2026-11-30T12:00:00.123456Z", json.GetProperty("occurred_at").GetString());
        Assert.Equal("authorized", json.GetProperty("previous_status").GetString());

        var snapshot = json.GetProperty("payment");
        Assert.Equal(
            ["id", "status", "amount", "currency", "merchant_id", "buyer_id", "capture", "psp", "psp_reference", "amount_captured",
             "amount_refunded", "failure_code", "failure_message", "created_at", "updated_at"],
            snapshot.EnumerateObject().Select(p => p.Name));
        Assert.Equal("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", snapshot.GetProperty("id").GetString());
        Assert.Equal("captured", snapshot.GetProperty("status").GetString());
        Assert.Equal(1999, snapshot.GetProperty("amount").GetInt64());
        Assert.Equal("EUR", snapshot.GetProperty("currency").GetString());
        Assert.Equal("m_contract", snapshot.GetProperty("merchant_id").GetString());
        Assert.Equal("b_contract", snapshot.GetProperty("buyer_id").GetString());
        Assert.Equal("automatic", snapshot.GetProperty("capture").GetString());
        Assert.Equal("stripe", snapshot.GetProperty("psp").GetString());
        Assert.Equal("pi_contract", snapshot.GetProperty("psp_reference").GetString());
        Assert.Equal(1999, snapshot.GetProperty("amount_captured").GetInt64());
        Assert.Equal(0, snapshot.GetProperty("amount_refunded").GetInt64());
        Assert.Equal(JsonValueKind.Null, snapshot.GetProperty("failure_code").ValueKind);
        Assert.Equal(JsonValueKind.Null, snapshot.GetProperty("failure_message").ValueKind);
        Assert.Equal("2026-11-30T12:00:00.000000Z", snapshot.GetProperty("created_at").GetString());
        Assert.Equal("2026-11-30T12:00:00.123456Z", snapshot.GetProperty("updated_at").GetString());
    }

    [Fact]
    public void A_creation_event_has_no_previous_status_and_the_payment_as_created()
    {
        var payment = CapturedPayment() with { Status = PaymentStatus.Initiated, Psp = null, PspReference = null, AmountCapturedMinor = 0, Version = 1 };

        var json = JsonDocument.Parse(PaymentChange.Event(EventTypes.PaymentInitiated, payment, null, Created).ToJson()).RootElement;

        Assert.Equal(JsonValueKind.Null, json.GetProperty("previous_status").ValueKind);
        Assert.Equal(1, json.GetProperty("payment_version").GetInt32());
        Assert.Equal("initiated", json.GetProperty("payment").GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("payment").GetProperty("psp").ValueKind);
    }

    [Fact]
    public void Every_event_type_of_the_design_is_a_constant_that_round_trips_through_the_contract()
    {
        Assert.Equal(
            ["payment.initiated", "payment.authorized", "payment.captured", "payment.completed", "payment.failed", "payment.voided",
             "payment.refunded", "payment.settled", "reconciliation.alert",
             // Added by issue 11: a refund that came back after it succeeded (a new type, never a renamed one).
             "payment.refund_reversed"],
            EventTypes.All);
        var payment = CapturedPayment();
        foreach (var type in EventTypes.All)
        {
            var written = PaymentChange.Event(type, payment, new TransitionStep(PaymentStatus.Authorized, PaymentStatus.Captured), Captured);

            var read = OutboxEvent.FromJson(written.ToJson());

            Assert.NotNull(read);
            Assert.Equal(type, read.Type);
            Assert.Equal(written, read);
            Assert.Equal(OutboxEvent.CurrentSchemaVersion, read.SchemaVersion);
        }
    }
}

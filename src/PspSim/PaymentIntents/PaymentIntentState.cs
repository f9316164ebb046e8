using PspSim.Storage;

namespace PspSim.PaymentIntents;

public static class PiStatus
{
    public const string RequiresPaymentMethod = "requires_payment_method";
    public const string RequiresConfirmation = "requires_confirmation";
    public const string RequiresAction = "requires_action";
    public const string Processing = "processing";
    public const string RequiresCapture = "requires_capture";
    public const string Canceled = "canceled";
    public const string Succeeded = "succeeded";
}

/// <summary>What the sandbox remembers of a PaymentIntent (rendered into Stripe's shape on the way out).</summary>
public sealed class PaymentIntentState : IStored
{
    public required string Id { get; init; }
    public required long Created { get; init; }
    public required long Amount { get; set; }
    public required string Currency { get; init; }
    public required string Status { get; set; }
    public required string CaptureMethod { get; set; }
    public required string ClientSecret { get; init; }
    public string? PaymentMethod { get; set; }
    public string? Description { get; set; }
    public Dictionary<string, string> Metadata { get; set; } = [];
    public string? StatementDescriptor { get; set; }
    public string? StatementDescriptorSuffix { get; set; }
    public string? ReturnUrl { get; set; }
    public string? ReceiptEmail { get; set; }
    public string? SetupFutureUsage { get; set; }
    public bool AutomaticPaymentMethods { get; set; }
    public string? AllowRedirects { get; set; }
    public List<string> PaymentMethodTypes { get; set; } = ["card"];
    public long AmountCapturable { get; set; }
    public long AmountReceived { get; set; }
    public string? LatestCharge { get; set; }
    /// <summary>The Stripe error object of the last failed attempt, as JSON text.</summary>
    public string? LastPaymentError { get; set; }
    public string? NextActionUrl { get; set; }
    /// <summary>Asynchronous test cards: the sim-clock second the bank answers a processing attempt.</summary>
    public long? SettleAt { get; set; }
    public long? CanceledAt { get; set; }
    public string? CancellationReason { get; set; }
}

public sealed class ChargeState : IStored
{
    public required string Id { get; init; }
    public required long Created { get; init; }
    public required long Amount { get; init; }
    public required string Currency { get; init; }
    public required string PaymentIntent { get; init; }
    public required string PaymentMethod { get; init; }
    public required string Brand { get; init; }
    public required string Last4 { get; init; }
    public required string Status { get; set; }
    public long AmountCaptured { get; set; }
    public long AmountRefunded { get; set; }
    public bool Captured { get; set; }
    public string? BalanceTransaction { get; set; }
    public string? Description { get; set; }
    public Dictionary<string, string> Metadata { get; set; } = [];
    public string? FailureCode { get; set; }
    public string? FailureMessage { get; set; }
    public string? DeclineCode { get; set; }
    public string? StatementDescriptor { get; set; }
    /// <summary>Manual capture: sim clock second after which the authorization expires (Stripe's payment_method_details.card.capture_before).</summary>
    public long? CaptureBefore { get; set; }
}

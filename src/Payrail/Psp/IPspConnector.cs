namespace Payrail.Psp;

/// <summary>
/// What Payrail needs from a payment service provider. One implementation per PSP (Stripe first).
/// Every mutating call carries the caller's idempotency key (Payrail passes its payment id or a
/// derived key), which is what makes retries — ours and after a crash — safe.
/// Declines are results (status Failed), not exceptions. Exceptions mean the outcome is unknown
/// (<see cref="PspUnavailableException"/>) or the PSP refused the request itself (<see cref="PspRequestRejectedException"/>).
/// </summary>
public interface IPspConnector
{
    /// <summary>Short provider name stored on payments and used in webhook routes ("stripe").</summary>
    string Name { get; }

    /// <summary>
    /// Whether this PSP can charge exactly <paramref name="amountMinor"/> ISO 4217 minor units of the currency: asked
    /// before anything is written, so a payment the PSP would refuse or round is never recorded. Pure, no call.
    /// </summary>
    PspAmountCheck CheckAmount(long amountMinor, string currencyCode);

    /// <summary>Create and confirm a payment: authorize only (manual capture) or purchase (automatic capture).</summary>
    Task<PspPayment> AuthorizeAsync(PspAuthorizeRequest request, CancellationToken cancellationToken);

    /// <summary>Capture an authorized payment, wholly or partially (the rest is released). The currency is the payment's: it gives the amount its unit.</summary>
    Task<PspPayment> CaptureAsync(string pspReference, long amountMinor, string currencyCode, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>Void (cancel) an authorized, uncaptured payment.</summary>
    Task<PspPayment> VoidAsync(string pspReference, string idempotencyKey, CancellationToken cancellationToken) =>
        VoidAsync(pspReference, idempotencyKey, null, cancellationToken);

    /// <summary>As above, with Stripe's <c>cancellation_reason</c> (duplicate, fraudulent, requested_by_customer, abandoned) when given.</summary>
    Task<PspPayment> VoidAsync(string pspReference, string idempotencyKey, string? cancellationReason, CancellationToken cancellationToken);

    /// <summary>
    /// Refund a captured payment, wholly or partially, under the refund's own idempotency key (Payrail's refund id). The
    /// currency is the payment's: it gives the amount its unit. The answer may be pending (decided later by webhook).
    /// </summary>
    Task<PspRefund> RefundAsync(PspRefundRequest request, CancellationToken cancellationToken);

    /// <summary>A refund as the PSP holds it now, by its PSP id; null when the PSP does not know it.</summary>
    Task<PspRefund?> RetrieveRefundAsync(string refundReference, CancellationToken cancellationToken);

    /// <summary>
    /// The refund the PSP made for Payrail refund <paramref name="refundId"/> of payment <paramref name="pspReference"/>
    /// (by the <c>payrail_refund_id</c> metadata every refund request sets), looking at most at the payment's newest
    /// <paramref name="maxRefunds"/> refunds; null when none carries it.
    /// </summary>
    Task<PspRefund?> FindRefundAsync(string pspReference, Guid refundId, int maxRefunds, CancellationToken cancellationToken);

    /// <summary>Current state of a payment at the PSP, or null when the PSP does not know it.</summary>
    Task<PspPayment?> RetrieveAsync(string pspReference, CancellationToken cancellationToken);

    /// <summary>
    /// The PaymentIntent created for a Payrail payment, found by the <c>payrail_payment_id</c> metadata every
    /// authorization sets (under any of its PSP idempotency keys), as it is now; null when the PSP's search does not
    /// show one. A search may lag writes (<see cref="SearchFreshness"/>): null proves nothing until that long after the
    /// last request that could have created it.
    /// </summary>
    Task<PspPayment?> SearchByPaymentIdAsync(Guid paymentId, CancellationToken cancellationToken);

    /// <summary>How long after a write the PSP's search is known to show it (Stripe: under a minute).</summary>
    TimeSpan SearchFreshness { get; }

    /// <summary>
    /// One page of the PSP's events created at or after <paramref name="createdFrom"/>, oldest first, to catch up on
    /// webhooks that never arrived. With <paramref name="after"/>: the <paramref name="limit"/> events right after that
    /// event (HasMore: newer ones remain). Else with <paramref name="before"/>: the <paramref name="limit"/> events right
    /// before it (HasMore: older ones remain). Else the newest <paramref name="limit"/> (HasMore: older ones remain). A
    /// cursor event the PSP no longer holds is <see cref="PspRequestRejectedException"/> with code <c>resource_missing</c>.
    /// </summary>
    Task<PspEventPage> ListEventsAsync(string? after, string? before, DateTimeOffset createdFrom, int limit, CancellationToken cancellationToken);

    /// <summary>The PSP's settlement report lines (balance transactions) created in [fromInclusive, toExclusive).</summary>
    IAsyncEnumerable<PspSettlementLine> ListSettlementLinesAsync(DateTimeOffset fromInclusive, DateTimeOffset toExclusive, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="ListSettlementLinesAsync(DateTimeOffset, DateTimeOffset, CancellationToken)"/>, bounded by the caller's
    /// <paramref name="maxLines"/> instead of the connector's own (reconciliation reads far more lines than settlement):
    /// more lines is an error, never a silent cut. Streamed page by page: the caller decides what it keeps.
    /// </summary>
    IAsyncEnumerable<PspSettlementLine> ListSettlementLinesAsync(DateTimeOffset fromInclusive, DateTimeOffset toExclusive, int maxLines,
        CancellationToken cancellationToken);

    /// <summary>Verify a webhook's signature and parse it. Throws <see cref="PspWebhookRejectedException"/> when forged, stale or malformed.</summary>
    PspWebhookEvent ParseWebhook(string body, string signatureHeader, DateTimeOffset now);
}

public sealed record PspAuthorizeRequest(
    string IdempotencyKey,
    long AmountMinor,
    string CurrencyCode,
    string PaymentMethod,
    bool CaptureAutomatically,
    string? Description,
    IReadOnlyDictionary<string, string> Metadata,
    // Where the PSP sends the buyer back after 3-D Secure; without it Stripe answers requires_action
    // with an SDK action instead of a redirect URL.
    string? ReturnUrl = null);

/// <summary>What a PSP says of an amount before it is charged. Every amount in the contract is ISO 4217 minor units.</summary>
public enum PspAmountCheck
{
    Chargeable,
    /// <summary>The PSP does not charge in this currency.</summary>
    CurrencyNotSupported,
    /// <summary>The PSP's unit cannot hold this amount exactly (e.g. MGA 123.45 where Stripe counts whole ariary).</summary>
    NotRepresentable,
    /// <summary>Below the PSP's minimum charge amount for this currency.</summary>
    BelowMinimum,
    /// <summary>Above the largest amount the PSP accepts once converted to its unit.</summary>
    AboveMaximum,
}

public enum PspPaymentStatus
{
    /// <summary>The PSP is still working (or waits for 3DS): the outcome comes later by webhook or poll.</summary>
    Processing,
    RequiresAction,
    /// <summary>Authorized, waiting for capture (Stripe: requires_capture).</summary>
    Authorized,
    /// <summary>Captured (Stripe: succeeded).</summary>
    Captured,
    /// <summary>Declined or failed; FailureCode says why.</summary>
    Failed,
    /// <summary>Voided before capture (Stripe: canceled).</summary>
    Canceled,
}

public sealed record PspPayment(
    string PspReference,
    PspPaymentStatus Status,
    long AmountMinor,
    long AmountCapturableMinor,
    long AmountCapturedMinor,
    long AmountRefundedMinor,
    string CurrencyCode,
    string? FailureCode,
    string? FailureMessage,
    string? NextActionUrl,
    DateTimeOffset CreatedAt);

public sealed record PspRefundRequest(
    string IdempotencyKey,
    string PspReference,
    long AmountMinor,
    string CurrencyCode,
    string? Reason,
    IReadOnlyDictionary<string, string> Metadata);

/// <summary>A refund's status at the PSP (Stripe's card refund statuses).</summary>
public enum PspRefundStatus
{
    Pending,
    Succeeded,
    Failed,
    Canceled,
}

/// <summary>A refund at the PSP. <see cref="Status"/> null: a status Payrail does not know (e.g. requires_action), i.e. not decided.</summary>
public sealed record PspRefund(
    string RefundReference,
    string PspReference,
    long AmountMinor,
    string CurrencyCode,
    PspRefundStatus? Status,
    DateTimeOffset CreatedAt)
{
    public string? FailureReason { get; init; }

    /// <summary>The <c>payrail_refund_id</c> metadata the refund was created with (null when absent or not a uuid).</summary>
    public Guid? RefundId { get; init; }
}

public sealed record PspSettlementLine(
    string Id,
    string Type,
    string? PspReference,
    string? SourceId,
    long AmountMinor,
    long FeeMinor,
    long NetMinor,
    string CurrencyCode,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset AvailableOn)
{
    /// <summary>The PSP's reporting category (Stripe: charge, refund, refund_failure, payout, ...).</summary>
    public string? ReportingCategory { get; init; }

    /// <summary>The source object's own amount in its own currency (ISO minor units): a charge's captured amount, a refund's amount.</summary>
    public long? SourceAmountMinor { get; init; }

    /// <summary>The source object's currency (upper-case ISO 4217), which may differ from the line's settlement currency.</summary>
    public string? SourceCurrencyCode { get; init; }

    /// <summary>The source object's status as the PSP says it now (a charge's: succeeded; a refund's: pending, succeeded, failed, canceled).</summary>
    public string? SourceStatus { get; init; }
}

public sealed record PspWebhookEvent(
    string EventId,
    string Type,
    string? PspReference,
    PspPayment? Payment,
    DateTimeOffset CreatedAt)
{
    /// <summary>The <c>payrail_payment_id</c> metadata of the event's object (as sent, unchecked), when it has one.</summary>
    public string? MetadataPaymentId { get; init; }

    /// <summary>The refund the event carries (refund.* and charge.refund.updated), as it was when the event was made.</summary>
    public PspRefund? Refund { get; init; }
}

/// <summary>
/// A PSP event as the catch-up needs it: which PaymentIntent it is about (<see cref="PspReference"/>, null for events
/// about nothing of a payment's) and the Payrail payment id its metadata names, when the event's object carries it.
/// </summary>
public sealed record PspEventSummary(string EventId, string Type, DateTimeOffset CreatedAt, string? PspReference, Guid? PaymentId)
{
    /// <summary>The PSP's refund id when the event's object is a refund (refund.*, charge.refund.updated), else null.</summary>
    public string? RefundReference { get; init; }
}

/// <summary>One page of <see cref="IPspConnector.ListEventsAsync"/>, oldest first.</summary>
public sealed record PspEventPage(IReadOnlyList<PspEventSummary> Events, bool HasMore);

/// <summary>The PSP could not be reached or did not answer in time: the outcome is unknown. Retry with the same idempotency key.</summary>
public sealed class PspUnavailableException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>
    /// The PSP itself answered 5xx. Stripe saves such an answer under the idempotency key and replays it for 24 h, so
    /// retrying with the same key cannot learn the outcome: the payment is found by search instead.
    /// </summary>
    public bool ServerError { get; init; }

    /// <summary>The 5xx was a replay of an answer saved earlier under the key (Stripe's <c>Idempotent-Replayed</c>): nothing ran now.</summary>
    public bool Replayed { get; init; }
}

/// <summary>The PSP refused the request itself (invalid parameters, wrong state, idempotency mismatch).</summary>
public sealed class PspRequestRejectedException(string code, string message, int httpStatus) : Exception(message)
{
    public string Code { get; } = code;
    public int HttpStatus { get; } = httpStatus;
}

/// <summary>
/// A webhook refused. <see cref="Authentic"/>: the signature verified but the body is not an event (it is then
/// recorded as rejected); otherwise nobody proved they hold the secret and nothing may be written.
/// <see cref="Code"/> is a stable metric label (never the body, never the header).
/// </summary>
public sealed class PspWebhookRejectedException(string reason, string code = PspWebhookRejectedException.SignatureCode, bool authentic = false)
    : Exception(reason)
{
    public const string SignatureCode = "signature";
    public const string TimestampCode = "timestamp";
    public const string HeaderCode = "header";
    public const string NoSecretCode = "no_secret";
    public const string MalformedCode = "malformed";

    public string Code { get; } = code;
    public bool Authentic { get; } = authentic;
}

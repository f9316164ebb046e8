using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Polly.Timeout;
using Stripe;

namespace Payrail.Psp.Stripe;

/// <summary>
/// <see cref="IPspConnector"/> on the official Stripe.net client, aimed at Stripe or pspsim by
/// configuration. Transport retries live in the HttpClient pipeline (see
/// <see cref="StripeConnectorServiceCollectionExtensions"/>); this class maps Stripe's answers onto
/// Payrail's contract: declines are results, anything without a clear answer is "outcome unknown".
/// </summary>
public sealed partial class StripeConnector : IPspConnector
{
    private static List<string> ExpandLatestCharge => ["latest_charge"];

    private readonly StripeConnectorOptions options;
    private readonly ILogger<StripeConnector> logger;
    private readonly StripeClient client;
    private readonly PaymentIntentService paymentIntents;
    private readonly RefundService refunds;
    private readonly EventService events;
    private readonly HttpClient http;

    public StripeConnector(HttpClient httpClient, HttpClient filesClient, IOptions<StripeConnectorOptions> options, ILogger<StripeConnector> logger)
    {
        this.options = options.Value;
        this.logger = logger;
        StripeReflectionRoots.EnsureHeld();
        http = httpClient;
        // maxNetworkRetries: 0 — Stripe.net would also retry 409s and 5xx; the pipeline retries
        // transport failures only (reasoning at StripeConnectorServiceCollectionExtensions.TransportRetry).
        client = new StripeClient(
            apiKey: this.options.ApiKey,
            httpClient: new SystemNetHttpClient(httpClient, maxNetworkRetries: 0, appInfo: null, enableTelemetry: false),
            apiBase: this.options.BaseUrl.TrimEnd('/'));
        paymentIntents = new PaymentIntentService(client);
        refunds = new RefundService(client);
        events = new EventService(client);
        files = filesClient;
        reportRuns = new global::Stripe.Reporting.ReportRunService(client);
        reportTypes = new global::Stripe.Reporting.ReportTypeService(client);
    }

    public string Name => "stripe";

    public PspAmountCheck CheckAmount(long amountMinor, string currencyCode) => StripeAmounts.Check(amountMinor, currencyCode);

    public async Task<PspPayment> AuthorizeAsync(PspAuthorizeRequest request, CancellationToken cancellationToken)
    {
        RequireKey(request.IdempotencyKey);
        if (request.AmountMinor <= 0) throw new ArgumentOutOfRangeException(nameof(request), "AmountMinor must be positive");
        var create = CreateOptions(request, options.ReturnUrl);
        return await CallAsync("authorize", request.IdempotencyKey, cancellationToken, declinesAreResults: true,
            () => CreatePaymentIntentAsync(create, request.IdempotencyKey, cancellationToken));
    }

    /// <summary>The create+confirm of one payment; <paramref name="configuredReturnUrl"/> when the request has none ("" for none).</summary>
    internal static PaymentIntentCreateOptions CreateOptions(PspAuthorizeRequest request, string configuredReturnUrl)
    {
        // Any card may need 3-D Secure: with a return_url Stripe answers it with a redirect the buyer can follow.
        var returnUrl = request.ReturnUrl ?? (configuredReturnUrl.Length > 0 ? configuredReturnUrl : null);
        return new PaymentIntentCreateOptions
        {
            Amount = ToStripeAmount(request.AmountMinor, request.CurrencyCode),
            Currency = request.CurrencyCode.ToLowerInvariant(),
            PaymentMethod = request.PaymentMethod,
            // Stripe enables automatic payment methods by default, and then a confirm without return_url is
            // refused unless redirect-based methods are switched off. Payrail passes an explicit card token.
            AutomaticPaymentMethods = returnUrl is null
                ? new PaymentIntentAutomaticPaymentMethodsOptions { Enabled = true, AllowRedirects = "never" }
                : null,
            ReturnUrl = returnUrl,
            Confirm = true,
            CaptureMethod = request.CaptureAutomatically ? "automatic" : "manual",
            Description = request.Description,
            Metadata = new Dictionary<string, string>(request.Metadata),
            Expand = ExpandLatestCharge,
        };
    }

    /// <summary>
    /// <c>POST /v1/payment_intents</c> as <see cref="PaymentIntentService.CreateAsync(PaymentIntentCreateOptions, RequestOptions, CancellationToken)"/>
    /// sends it (the same form, byte for byte, see <see cref="PaymentIntentCreateForm"/>; Stripe.net's requestor, headers,
    /// idempotency key and error handling: a refusal or a decline is the same <see cref="StripeException"/>), with the
    /// answer read by <see cref="StripeJsonReader"/> instead of Newtonsoft's full object tree: the one PSP answer on every
    /// payment's path (issue 8: ≈90 KB of the API's allocations per payment). An unreadable 200 is what Stripe.net makes
    /// of it: a <see cref="StripeException"/>, so the outcome is unknown.
    /// </summary>
    private async Task<PaymentIntent> CreatePaymentIntentAsync(PaymentIntentCreateOptions create, string idempotencyKey, CancellationToken cancellationToken)
    {
        var response = await client.RawRequestAsync(HttpMethod.Post, "/v1/payment_intents", PaymentIntentCreateForm.Encode(create),
            new RawRequestOptions { IdempotencyKey = idempotencyKey }, cancellationToken);
        try
        {
            return StripeJsonReader.PaymentIntent(response.Content);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException or OverflowException)
        {
            throw new StripeException(response.StatusCode, null, "Invalid response object from API") { StripeResponse = response };
        }
    }

    public Task<PspPayment> CaptureAsync(
        string pspReference, long amountMinor, string currencyCode, string idempotencyKey, CancellationToken cancellationToken)
    {
        RequireReference(pspReference);
        RequireKey(idempotencyKey);
        if (amountMinor <= 0) throw new ArgumentOutOfRangeException(nameof(amountMinor), "must be positive");
        var capture = new PaymentIntentCaptureOptions
        {
            AmountToCapture = ToStripeAmount(amountMinor, currencyCode), Expand = ExpandLatestCharge,
        };
        return CallAsync("capture", pspReference, cancellationToken, declinesAreResults: true,
            () => paymentIntents.CaptureAsync(pspReference, capture, Keyed(idempotencyKey), cancellationToken));
    }

    public Task<PspPayment> VoidAsync(string pspReference, string idempotencyKey, CancellationToken cancellationToken) =>
        VoidAsync(pspReference, idempotencyKey, null, cancellationToken);

    public Task<PspPayment> VoidAsync(string pspReference, string idempotencyKey, string? cancellationReason, CancellationToken cancellationToken)
    {
        RequireReference(pspReference);
        RequireKey(idempotencyKey);
        var cancel = new PaymentIntentCancelOptions { CancellationReason = cancellationReason, Expand = ExpandLatestCharge };
        return CallAsync("void", pspReference, cancellationToken, declinesAreResults: false,
            () => paymentIntents.CancelAsync(pspReference, cancel, Keyed(idempotencyKey), cancellationToken));
    }

    public async Task<PspRefund> RefundAsync(PspRefundRequest request, CancellationToken cancellationToken)
    {
        RequireReference(request.PspReference);
        RequireKey(request.IdempotencyKey);
        if (request.AmountMinor <= 0) throw new ArgumentOutOfRangeException(nameof(request), "AmountMinor must be positive");
        var create = new RefundCreateOptions
        {
            PaymentIntent = request.PspReference,
            Amount = ToStripeAmount(request.AmountMinor, request.CurrencyCode),
            Reason = request.Reason,
            Metadata = new Dictionary<string, string>(request.Metadata),
        };
        var refund = await SendAsync("refund", request.PspReference, cancellationToken,
            () => refunds.CreateAsync(create, Keyed(request.IdempotencyKey), cancellationToken));
        return ToRefund("refund", request.PspReference, refund);
    }

    public async Task<PspRefund?> RetrieveRefundAsync(string refundReference, CancellationToken cancellationToken)
    {
        RequireReference(refundReference);
        try
        {
            var refund = await SendAsync("retrieve_refund", refundReference, cancellationToken,
                () => refunds.GetAsync(refundReference, options: null, requestOptions: null, cancellationToken));
            return ToRefund("retrieve_refund", refundReference, refund);
        }
        catch (PspRequestRejectedException e) when (e.HttpStatus == 404 && e.Code == "resource_missing")
        {
            return null;
        }
    }

    public async Task<PspRefund?> FindRefundAsync(string pspReference, Guid refundId, int maxRefunds, CancellationToken cancellationToken)
    {
        RequireReference(pspReference);
        if (maxRefunds is < 1 or > 100) throw new ArgumentOutOfRangeException(nameof(maxRefunds), "one page of 1..100");
        var list = new RefundListOptions { PaymentIntent = pspReference, Limit = maxRefunds };
        var page = await SendAsync("list_refunds", pspReference, cancellationToken,
            () => refunds.ListAsync(list, requestOptions: null, cancellationToken));
        var wanted = refundId.ToString();
        var found = page.Data.FirstOrDefault(r => r.Metadata is { } m && m.TryGetValue(PayrailRefundIdKey, out var id) && id == wanted);
        return found is null ? null : ToRefund("list_refunds", pspReference, found);
    }

    /// <summary>The metadata key every refund request carries: how a refund is found again without its PSP id.</summary>
    public const string PayrailRefundIdKey = "payrail_refund_id";

    private PspRefund ToRefund(string operation, string reference, Refund refund)
    {
        try
        {
            return StripeMapping.ToRefund(refund, reference);
        }
        catch (StripeAmountException e)
        {
            throw UnreadableAmount(operation, reference, e);
        }
    }

    public async Task<PspPayment?> RetrieveAsync(string pspReference, CancellationToken cancellationToken)
    {
        RequireReference(pspReference);
        try
        {
            var get = new PaymentIntentGetOptions { Expand = ExpandLatestCharge };
            return await CallAsync("retrieve", pspReference, cancellationToken, declinesAreResults: false,
                () => paymentIntents.GetAsync(pspReference, get, requestOptions: null, cancellationToken));
        }
        // Only Stripe's own "no such object" means unknown; a bare 404 (wrong BaseUrl, a proxy) must not
        // make a caller believe the PSP never saw the payment.
        catch (PspRequestRejectedException e) when (e.HttpStatus == 404 && e.Code == "resource_missing")
        {
            return null;
        }
    }

    public TimeSpan SearchFreshness => TimeSpan.FromMilliseconds(options.SearchFreshnessMs);

    public async Task<PspPayment?> SearchByPaymentIdAsync(Guid paymentId, CancellationToken cancellationToken)
    {
        // A Guid holds no quote: the value needs no escaping. Two are asked for so that a duplicate is seen and logged.
        var search = new PaymentIntentSearchOptions { Query = $"metadata['payrail_payment_id']:'{paymentId}'", Limit = 2 };
        var found = await SendAsync("search", paymentId.ToString(), cancellationToken,
            () => paymentIntents.SearchAsync(search, requestOptions: null, cancellationToken));
        if (found.Data.Count == 0) return null;
        if (found.Data.Count > 1)
            logger.LogError("Stripe holds more than one PaymentIntent for payment {PaymentId}; the newest is used", paymentId);
        // The search index may hold an older state: the intent itself is read as it is now (read-after-write safe).
        return await RetrieveAsync(found.Data[0].Id, cancellationToken);
    }

    public IAsyncEnumerable<PspSettlementLine> ListSettlementLinesAsync(
        DateTimeOffset fromInclusive, DateTimeOffset toExclusive, CancellationToken cancellationToken) =>
        ListSettlementLinesAsync(fromInclusive, toExclusive, options.MaxSettlementLines, cancellationToken);

    /// <summary>
    /// The balance activity of [from, to), bounded by <paramref name="maxLines"/>. What Stripe has finished reporting
    /// (its report type's data_available_end) comes from the itemized balance report, a CSV file of ≈ 150 bytes a line
    /// (<see cref="ActivityReportCsv"/>), except refunds and refund failures: the report does not say a refund's status,
    /// so they are listed (<c>GET /v1/balance_transactions?type=</c>, sources expanded). A tail the report does not
    /// cover yet (Stripe's lags by hours) is listed too, every type.
    /// </summary>
    public async IAsyncEnumerable<PspSettlementLine> ListSettlementLinesAsync(
        DateTimeOffset fromInclusive, DateTimeOffset toExclusive, int maxLines, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (maxLines < 1) throw new ArgumentOutOfRangeException(nameof(maxLines), "must be at least 1");
        if (toExclusive <= fromInclusive) yield break;
        var reportEnd = await ReportCoveredUntilAsync(fromInclusive, toExclusive, cancellationToken);
        IAsyncEnumerable<PspSettlementLine>[] parts = reportEnd > fromInclusive
            ?
            [
                ReadActivityReportAsync(fromInclusive, reportEnd, cancellationToken),
                ListBalanceTransactionsAsync(fromInclusive, reportEnd, "refund", cancellationToken),
                ListBalanceTransactionsAsync(fromInclusive, reportEnd, "refund_failure", cancellationToken),
                ListBalanceTransactionsAsync(reportEnd, toExclusive, type: null, cancellationToken),
            ]
            : [ListBalanceTransactionsAsync(fromInclusive, toExclusive, type: null, cancellationToken)];
        var count = 0;
        foreach (var part in parts)
        {
            await foreach (var line in part)
            {
                if (++count > maxLines)
                {
                    // A reconciliation on a silently truncated report would raise false alarms or miss real ones.
                    throw new InvalidOperationException(
                        $"More than {maxLines} settlement lines in [{fromInclusive:O}, {toExclusive:O}); reconcile a shorter window.");
                }
                yield return line;
            }
        }
    }

    /// <summary>The balance transactions of [from, to) (of one type, or all), page by page.</summary>
    private async IAsyncEnumerable<PspSettlementLine> ListBalanceTransactionsAsync(DateTimeOffset fromInclusive, DateTimeOffset toExclusive,
        string? type, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (toExclusive <= fromInclusive) yield break;
        string? after = null;
        while (true)
        {
            // Each page is its own HTTP call through the same pipeline (deadline, transport retries: GETs are replay-safe).
            var (lines, hasMore) = await SendAsync("list_settlement_lines", "balance_transactions", cancellationToken,
                () => PageAsync(fromInclusive, toExclusive, type, after, cancellationToken));
            foreach (var line in lines) yield return line;
            if (!hasMore || lines.Count == 0) yield break;
            after = lines[^1].Id;
        }
    }

    private async Task<(List<PspSettlementLine> Lines, bool HasMore)> PageAsync(DateTimeOffset fromInclusive, DateTimeOffset toExclusive,
        string? type, string? after, CancellationToken cancellationToken)
    {
        using var request = BalanceTransactionPages.Request(options, fromInclusive, toExclusive, type, after);
        // Headers read: the body is already whole in a pooled buffer (ResponseBufferingHandler), not copied again here.
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new PspUnavailableException($"Stripe list_settlement_lines: HTTP {(int)response.StatusCode}; the listing is incomplete.")
                { ServerError = (int)response.StatusCode >= 500 };
        }
        return await BalanceTransactionPages.ParseAsync(response.Content, cancellationToken);
    }

    public async Task<PspEventPage> ListEventsAsync(string? after, string? before, DateTimeOffset createdFrom, int limit,
        CancellationToken cancellationToken)
    {
        if (limit is < 1 or > 100) throw new ArgumentOutOfRangeException(nameof(limit), "must be within [1, 100] (Stripe's page size)");
        // Stripe lists newest first: ending_before walks forward from a cursor (the page right after it, still newest
        // first), starting_after walks backward.
        var list = new EventListOptions
        {
            Limit = limit,
            Created = new DateRangeOptions { GreaterThanOrEqual = createdFrom.UtcDateTime },
            EndingBefore = after,
            StartingAfter = after is null ? before : null,
        };
        var page = await SendAsync("list_events", after ?? before ?? "events", cancellationToken,
            () => events.ListAsync(list, requestOptions: null, cancellationToken));
        var summaries = page.Data.Select(StripeMapping.ToEventSummary).ToList();
        summaries.Reverse();
        return new PspEventPage(summaries, page.HasMore);
    }

    public PspWebhookEvent ParseWebhook(string body, string signatureHeader, DateTimeOffset now) =>
        StripeWebhookVerifier.Parse(body, signatureHeader, now, options.WebhookSecrets, options.WebhookToleranceSeconds);

    private async Task<PspPayment> CallAsync(
        string operation, string reference, CancellationToken cancellationToken, bool declinesAreResults, Func<Task<PaymentIntent>> call)
    {
        try
        {
            var intent = await SendAsync(operation, reference, cancellationToken, call, declinesAreResults);
            return StripeMapping.ToPayment(intent);
        }
        catch (PspDeclineException decline) when (declinesAreResults)
        {
            logger.LogInformation("Stripe {Operation} declined {PspReference}: {FailureCode}", operation, decline.Payment.PspReference, decline.Payment.FailureCode);
            return decline.Payment;
        }
        catch (StripeAmountException e)
        {
            throw UnreadableAmount(operation, reference, e);
        }
    }

    /// <summary>
    /// ISO minor units → Stripe's unit, before anything is sent. An amount with no exact Stripe value is a known
    /// refusal (nothing reached the PSP, nothing can be charged), never a rounded charge.
    /// </summary>
    private static long ToStripeAmount(long amountMinor, string currencyCode)
    {
        try
        {
            return StripeAmounts.ToStripe(amountMinor, currencyCode);
        }
        catch (StripeAmountException e)
        {
            throw new PspRequestRejectedException("amount_not_chargeable", e.Message, httpStatus: 400);
        }
    }

    /// <summary>
    /// Stripe acted but answered an amount Payrail cannot hold exactly in ISO minor units: recording a rounded amount
    /// would put a wrong number in the books, so the outcome stays unknown (processing) until someone looks.
    /// </summary>
    private PspUnavailableException UnreadableAmount(string operation, string reference, StripeAmountException e)
    {
        logger.LogError("Stripe {Operation} {Reference}: answer not convertible to ISO minor units: {Reason}", operation, reference, e.Message);
        return new PspUnavailableException($"Stripe {operation}: {e.Message} Outcome unknown.", e);
    }

    /// <summary>Runs one Stripe call and turns every failure into the contract's exceptions.</summary>
    private async Task<T> SendAsync<T>(
        string operation, string reference, CancellationToken cancellationToken, Func<Task<T>> call, bool declinesAreResults = false)
    {
        try
        {
            return await call();
        }
        catch (StripeException e)
        {
            throw Translate(operation, reference, e, declinesAreResults);
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutRejectedException or IOException
                                  || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // The request may or may not have reached Stripe: the caller must retry with the same key.
            logger.LogWarning("Stripe {Operation} {Reference}: no answer ({Failure})", operation, reference, e.GetType().Name);
            throw new PspUnavailableException($"Stripe {operation}: no answer from the PSP ({e.GetType().Name}); outcome unknown.", e);
        }
    }

    private Exception Translate(string operation, string reference, StripeException e, bool declinesAreResults)
    {
        var status = (int)e.HttpStatusCode;
        var error = e.StripeError;
        var code = error?.DeclineCode ?? error?.Code ?? error?.Type ?? "unknown";
        if (declinesAreResults && status == 402 && error?.Type == "card_error" && error.PaymentIntent is { } declined && IsStripeRefusal(e))
            return new PspDeclineException(StripeMapping.ToDeclinedPayment(declined, error));

        if (status is < 400 or >= 500 || IsTryLater(status, error?.Code) || !IsStripeRefusal(e))
        {
            // 5xx, an unreadable 200, a lock or in-flight key, or a 4xx that Stripe did not write (a proxy's
            // 408, an error body of no known type): Stripe may or may not have acted.
            logger.LogWarning("Stripe {Operation} {Reference}: HTTP {Status} {Code}, outcome unknown", operation, reference, status, code);
            return new PspUnavailableException($"Stripe {operation}: HTTP {status} ({code}); outcome unknown.", e)
            {
                ServerError = status >= 500 && IsStripeAnswer(e),
                Replayed = IsReplay(e),
            };
        }

        logger.LogInformation("Stripe {Operation} {Reference} rejected: HTTP {Status} {Code}", operation, reference, status, code);
        return new PspRequestRejectedException(error?.Code ?? error?.Type ?? "unknown", error?.Message ?? $"Stripe rejected {operation}", status);
    }

    /// <summary>A 5xx written by Stripe (its Request-Id), not by a proxy in between: what Stripe saves under the key.</summary>
    private static bool IsStripeAnswer(StripeException e) => !string.IsNullOrEmpty(e.StripeResponse?.RequestId);

    private static bool IsReplay(StripeException e) =>
        e.StripeResponse?.Headers is { } headers && headers.TryGetValues("Idempotent-Replayed", out var values)
        && values.Any(v => string.Equals(v, "true", StringComparison.OrdinalIgnoreCase));

    /// <summary>Stripe's documented error types that refuse a request (api_error is Stripe failing: outcome unknown).</summary>
    private static readonly FrozenSet<string> RefusalTypes =
        new[] { "invalid_request_error", "card_error", "idempotency_error" }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// Only an answer that proves Stripe refused is a refusal: Stripe's error object (a type it documents for
    /// refusals, a message) on a response carrying Stripe's Request-Id. A load balancer or proxy in between
    /// may answer 4xx (408, 413, 499…) after the request went through; calling that a refusal would record
    /// a failed payment for a charge that happened, and the buyer's next attempt would charge again.
    /// </summary>
    internal static bool IsStripeRefusal(StripeException e) =>
        e.StripeError is { Type: { } type, Message: { Length: > 0 } }
        && RefusalTypes.Contains(type)
        && !string.IsNullOrEmpty(e.StripeResponse?.RequestId);

    /// <summary>
    /// 429 (rate limited, lock_timeout) and 409 lock_timeout / idempotency_key_in_use are not refusals of the
    /// request itself: Stripe asks to come back later, so the caller must treat them like an outage.
    /// </summary>
    internal static bool IsTryLater(int status, string? code) =>
        status == 429 || (status == 409 && code is "lock_timeout" or "idempotency_key_in_use" or "rate_limit");

    private static void RequireKey(string idempotencyKey)
    {
        // Without the caller's key a replay could charge twice: Stripe.net would invent a random key.
        if (string.IsNullOrWhiteSpace(idempotencyKey) || idempotencyKey.Length > 255)
            throw new ArgumentException("A caller idempotency key (1..255 chars) is required for every mutating PSP call.", nameof(idempotencyKey));
    }

    private static void RequireReference(string pspReference)
    {
        // An empty id would turn GET /v1/payment_intents/{id} into the list endpoint.
        if (string.IsNullOrWhiteSpace(pspReference) || pspReference.Length > 255)
            throw new ArgumentException("A PSP reference (1..255 chars) is required.", nameof(pspReference));
    }

    private static RequestOptions Keyed(string idempotencyKey) => new() { IdempotencyKey = idempotencyKey };

    internal static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    /// <summary>Carries a decline from <see cref="Translate"/> to the operations where a decline is a result.</summary>
    private sealed class PspDeclineException(PspPayment payment) : Exception("declined")
    {
        public PspPayment Payment { get; } = payment;
    }
}

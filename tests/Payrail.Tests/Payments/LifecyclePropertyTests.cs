using System.Text.Json;
using CsCheck;
using Microsoft.Extensions.DependencyInjection;
using Payrail.Psp.Stripe;
using Payrail.Tests.Refunds;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>
/// The refunds service (no transport retries: a lost answer reaches the flow) with every request to pspsim counted, so a
/// test can prove how many capture or cancel calls reached the PSP.
/// </summary>
public sealed class LifecycleFixture : RefundsFixture
{
    public const int LeaseMs = 30_000;

    public PspRequestCounter PspRequests { get; } = new();

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [.. base.Settings.Where(s => s.Key != "Idempotency:LeaseMs"), new("Idempotency:LeaseMs", "30000"), new("Stripe:MaxNetworkRetries", "0")];

    protected override void ConfigureTestServices(IServiceCollection services) =>
        services.AddHttpClient(StripeConnectorServiceCollectionExtensions.HttpClientName)
            .AddHttpMessageHandler(() => new Counting(PspRequests));

    private sealed class Counting(PspRequestCounter counter) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            counter.Add(request.Method.Method, request.RequestUri?.AbsolutePath ?? "");
            return base.SendAsync(request, cancellationToken);
        }
    }
}

/// <summary>
/// Random interleavings of capture (full or partial), void and refund (partial or the rest) on a manual-capture payment,
/// each retried by its client under its key, some losing the PSP's answer after the PSP acted: after every request the
/// payment, the PSP (PaymentIntent status, amount_received, the charge's amount_refunded, its refunds) and the ledger
/// agree, and the authorization was consumed by at most one capture or cancel call at the PSP.
/// </summary>
public sealed class LifecyclePropertyTests(LifecycleFixture api) : IClassFixture<LifecycleFixture>
{
    private const long Authorized = 1_000;

    /// <summary>Below this a USD capture is refused before the PSP (Stripe's minimum charge): not this test's subject.</summary>
    private const long MinCaptureMinor = 50;

    private enum Kind { Capture, Void, Refund }

    /// <summary>One request: what, its amount (0: the default), whether its PSP answer is lost, its client's extra retries.</summary>
    private sealed record Request(Kind Kind, long Amount, bool Lost, int ExtraRetries)
    {
        public override string ToString() => $"{Kind} {(Amount == 0 ? "default" : Amount)}{(Lost ? " lost" : "")} retries {ExtraRetries}";
    }

    private static readonly Gen<Request> GenRequest = Gen.Select(
            Gen.Enum<Kind>(), Gen.OneOf(Gen.Const(0L), Gen.Long[MinCaptureMinor, 700]), Gen.Bool, Gen.Int[0, 1])
        .Select((kind, amount, lost, retries) => new Request(kind, amount, lost, retries));

    [Fact]
    public async Task Capture_void_and_refund_requests_with_retries_and_lost_answers_keep_the_payment_the_PSP_and_the_ledger_consistent()
    {
        await GenRequest.Array[1, 5].SampleAsync(RunAsync, iter: 12, threads: 1);
    }

    private async Task RunAsync(Request[] requests)
    {
        var buyer = "b_" + Guid.NewGuid().ToString("N")[..10];
        var created = await api.PostPaymentAsync(api.BuyerToken(buyer), Guid.NewGuid().ToString(),
            PaymentsApiFixture.Body(amount: Authorized, capture: "manual"));
        Assert.Equal((201, "authorized"), (created.Status, created.PaymentStatus));
        var (payment, intent) = (created.PaymentId, created.Json.GetProperty("psp_reference").GetString()!);
        try
        {
            foreach (var request in requests) await SendAsync(payment, intent, request);
        }
        finally
        {
            await api.PspSim.ResetAsync();
        }
    }

    private async Task SendAsync(Guid payment, string intent, Request request)
    {
        var before = await api.PaymentAsync(payment);
        var status = before.GetProperty("status").GetString();
        var path = request.Kind switch
        {
            Kind.Capture => $"/v1/payment_intents/{intent}/capture",
            Kind.Void => $"/v1/payment_intents/{intent}/cancel",
            _ => "/v1/refunds",
        };
        if (request.Lost) await api.PspSim.AddFaultAsync("response_lost", count: 1, pathPrefix: path, method: "POST");
        var operation = request.Kind switch { Kind.Capture => "capture", Kind.Void => "void", _ => "refunds" };
        var body = request.Amount == 0 || request.Kind == Kind.Void ? "{}" : JsonSerializer.Serialize(new { amount = request.Amount });
        var key = Guid.NewGuid().ToString();
        var answer = await UntilFinalAsync(payment, operation, body, key);
        await api.PspSim.ResetAsync();

        var expectedOk = request.Kind switch
        {
            Kind.Capture or Kind.Void => status == "authorized" && (request.Kind == Kind.Void || request.Amount <= Authorized),
            _ => status is "captured" && request.Amount <= Refundable(before),
        };
        Assert.True(expectedOk ? answer.Status is 200 or 201 : answer.Status is 409,
            $"{request} on {status}: {answer.Status} {answer.Body}");
        for (var retry = 0; retry < request.ExtraRetries; retry++)
        {
            var replay = await OperateAsync(payment, operation, body, key);
            Assert.Equal(answer.Status, replay.Status);
        }
        await AssertConsistentAsync(payment, intent, request);
    }

    private static long Refundable(JsonElement payment) =>
        payment.GetProperty("amount_captured").GetInt64() - payment.GetProperty("amount_refunded").GetInt64();

    /// <summary>The client retries under its key while the outcome is unknown (503/202) or the key in flight (409 in progress), past the lease.</summary>
    private async Task<ApiAnswer> UntilFinalAsync(Guid payment, string operation, string body, string key)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var answer = await OperateAsync(payment, operation, body, key);
            var unknown = answer.Status is 202 or 503 || answer.ProblemType == Payrail.Api.Problems.IdempotencyKeyInUse;
            if (!unknown) return answer;
            api.Clock.Offset += TimeSpan.FromMilliseconds(LifecycleFixture.LeaseMs + 1_000);
        }
        throw new Xunit.Sdk.XunitException($"{operation} of {payment} still not final after 5 attempts");
    }

    private async Task AssertConsistentAsync(Guid payment, string intent, Request request)
    {
        var ours = await api.PaymentAsync(payment);
        var status = ours.GetProperty("status").GetString();
        var captured = ours.GetProperty("amount_captured").GetInt64();
        var refunded = ours.GetProperty("amount_refunded").GetInt64();
        var pi = await PaymentIntentAsync(intent);
        var piStatus = pi.GetProperty("status").GetString();
        var expectedPi = status switch
        {
            "authorized" => "requires_capture",
            "voided" => "canceled",
            _ => "succeeded",
        };
        Assert.True(expectedPi == piStatus, $"after {request}: ours {status}, PSP {piStatus}");
        Assert.Equal(captured, pi.GetProperty("amount_received").GetInt64());
        if (captured > 0)
        {
            var charge = pi.GetProperty("latest_charge");
            var chargeRefunded = charge.ValueKind == JsonValueKind.Object ? charge.GetProperty("amount_refunded").GetInt64()
                : await ChargeRefundedAsync(charge.GetString()!);
            Assert.Equal(refunded, chargeRefunded);
        }
        var pspRefunds = await api.PspRefundsAsync(intent);
        Assert.Equal(pspRefunds.Count, await api.ScalarAsync("SELECT count(*) FROM refunds WHERE payment_id = @id", ("id", payment)));
        Assert.Equal(refunded, pspRefunds.Where(r => r.Status == "succeeded").Sum(r => r.Amount));
        Assert.Equal(refunded, await api.ScalarAsync(
            "SELECT coalesce(sum(amount_minor), 0) FROM refunds WHERE payment_id = @id AND status = 'succeeded'", ("id", payment)));
        Assert.Equal(refunded == captured && captured > 0, status == "refunded");
        // What the payment's posted transfers leave with its merchant: captured (the posted part of the hold) − refunded.
        Assert.Equal(captured - refunded, await api.ScalarAsync("""
            SELECT coalesce(sum(CASE WHEN c.owner LIKE 'merchant:%' THEN t.amount_minor WHEN d.owner LIKE 'merchant:%' THEN -t.amount_minor END), 0)
            FROM ledger_transfers t JOIN ledger_accounts d ON d.id = t.debit_account_id JOIN ledger_accounts c ON c.id = t.credit_account_id
            WHERE t.payment_id = @id AND t.kind IN ('posted', 'post_pending')
            """, ("id", payment)));
        Assert.InRange(api.PspRequests.Operations(intent), 0, 1);
        await api.AssertBooksBalanceAsync();
    }

    private async Task<ApiAnswer> OperateAsync(Guid payment, string operation, string body, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/payments/{payment}/{operation}")
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", api.MerchantToken());
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        using var response = await api.Http.SendAsync(request);
        return await ApiAnswer.ReadAsync(response);
    }

    private async Task<JsonElement> PaymentIntentAsync(string id) => await PspGetAsync($"/v1/payment_intents/{id}");

    private async Task<long> ChargeRefundedAsync(string charge) => (await PspGetAsync($"/v1/charges/{charge}")).GetProperty("amount_refunded").GetInt64();

    private async Task<JsonElement> PspGetAsync(string path)
    {
        using var http = new HttpClient { BaseAddress = new Uri(api.PspSim.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", api.PspSim.ApiKey);
        using var document = JsonDocument.Parse(await http.GetStringAsync(path));
        return document.RootElement.Clone();
    }
}

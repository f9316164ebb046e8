using CsCheck;
using Payrail.Api;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Refunds;

/// <summary>The service with no transport retries to the PSP (a lost answer reaches the flow) and short leases.</summary>
public sealed class LostAnswerRefundsFixture : RefundsFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [.. base.Settings.Where(s => s.Key != "Idempotency:LeaseMs"), new("Idempotency:LeaseMs", "700"), new("Stripe:MaxNetworkRetries", "0")];
}

/// <summary>
/// Random sequences of refund requests on one payment, each retried by its client, some of them losing the PSP's answer
/// after the PSP acted (the connection reset, or a 500 the PSP keeps under the key): the payment's status, the PSP's
/// refunds and the ledger agree after every request, and each request made at most one PSP refund.
/// </summary>
public sealed class RefundPropertyTests(LostAnswerRefundsFixture api) : IClassFixture<LostAnswerRefundsFixture>
{
    private const long Captured = 1_000;

    /// <summary>One request: its amount (0: the default, all that remains), how its PSP answer is lost, and its client's extra retries.</summary>
    private sealed record Request(long Amount, int Loss, int ExtraRetries)
    {
        public override string ToString() => $"refund {(Amount == 0 ? "rest" : Amount)} loss {Loss} retries {ExtraRetries}";
    }

    private static readonly Gen<Request> GenRequest = Gen.Select(Gen.OneOf(Gen.Const(0L), Gen.Long[1, 600]), Gen.Int[0, 2], Gen.Int[0, 1])
        .Select((amount, loss, retries) => new Request(amount, loss, retries));

    [Fact]
    public async Task Refund_requests_with_retries_and_lost_answers_keep_the_payment_the_PSP_and_the_ledger_consistent()
    {
        await GenRequest.Array[1, 4].SampleAsync(RunAsync, iter: 6, threads: 1);
    }

    private async Task RunAsync(Request[] requests)
    {
        var (payment, intent) = await api.CapturedPaymentAsync(Captured);
        var refunded = 0L;
        var made = 0;
        foreach (var request in requests)
        {
            if (request.Loss > 0)
                await api.PspSim.AddFaultAsync(request.Loss == 1 ? "response_lost" : "http_500_after_execution", count: 1, pathPrefix: "/v1/refunds", method: "POST");
            var key = Guid.NewGuid().ToString();
            object body = request.Amount == 0 ? new { } : new { amount = request.Amount };
            var answer = await UntilFinalAsync(payment, body, key);

            var wanted = request.Amount == 0 ? Captured - refunded : request.Amount;
            if (wanted > 0 && wanted <= Captured - refunded)
            {
                Assert.True(answer.Status == 201, $"{request}: {answer.Status} {answer.Body}");
                Assert.Equal(("succeeded", wanted), (answer.Json.GetProperty("status").GetString(), answer.Json.GetProperty("amount").GetInt64()));
                refunded += wanted;
                made++;
            }
            else
            {
                Assert.True(answer.Status == 409, $"{request}: {answer.Status} {answer.Body}");
                Assert.True(answer.ProblemType is Problems.RefundExceedsRefundable or Problems.PaymentNotRefundable, answer.Body);
            }
            for (var retry = 0; retry < request.ExtraRetries; retry++)
            {
                var replay = await api.RefundAsync(payment, body, key);
                // A refund is replayed byte for byte; a refusal wrote nothing and is refused again (its trace id differs).
                if (answer.Status == 201) Assert.Equal((answer.Status, answer.Body), (replay.Status, replay.Body));
                else Assert.Equal((answer.Status, answer.ProblemType), (replay.Status, replay.ProblemType));
            }
            await api.PspSim.ResetAsync();

            Assert.Equal(made, (await api.PspRefundsAsync(intent)).Count);
            Assert.Equal(refunded, (await api.PaymentAsync(payment)).GetProperty("amount_refunded").GetInt64());
            await api.AssertRefundBooksAgreeAsync(payment, intent);
        }
    }

    /// <summary>The client retries with the same key while the answer is not final (202: outcome unknown; 409: still in flight).</summary>
    private async Task<Payments.ApiAnswer> UntilFinalAsync(Guid payment, object body, string key)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var answer = await api.RefundAsync(payment, body, key);
            var final = answer.Status is not (202 or 500) && answer.ProblemType != Problems.IdempotencyKeyInUse;
            if (final || DateTimeOffset.UtcNow > deadline) return answer;
            // A lost answer leaves the key processing until its lease (700 ms) ends: the next retry then takes it over.
            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }
    }
}

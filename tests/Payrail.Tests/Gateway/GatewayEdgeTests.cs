using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;
using Payrail.Auth;
using Xunit;

namespace Payrail.Tests.Gateway;

/// <summary>Issue 12's bad input at the gateway: each refusal is a problem, and nothing of it reaches the API.</summary>
public sealed class GatewayEdgeTests(GatewayStack stack) : IClassFixture<GatewayStack>
{
    private readonly HttpClient _http = stack.Client();

    [Fact]
    public async Task Valid_buyer_merchant_and_ops_tokens_reach_their_routes_through_the_gateway()
    {
        var before = stack.ArrivedCount;
        using var pay = await _http.SendAsync(GatewayStack.Request(HttpMethod.Post, "/v1/payments",
            stack.Token(Roles.Buyer, "buyer_matrix"), GatewayStack.PaymentBody(), Guid.NewGuid().ToString()));
        Assert.Equal(HttpStatusCode.Created, pay.StatusCode);

        using var list = await _http.SendAsync(GatewayStack.Request(HttpMethod.Get, "/v1/payments?limit=5",
            stack.Token(Roles.Merchant, "u_1", GatewayStack.MerchantId)));
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);

        var merchant = "m_" + Guid.NewGuid().ToString("N")[..12];
        using var create = await _http.SendAsync(GatewayStack.Request(HttpMethod.Post, "/v1/merchants", stack.Token(Roles.Ops, "op_1"),
            $$"""{"id":"{{merchant}}","name":"Gateway Test"}""", Guid.NewGuid().ToString()));
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        Assert.Equal(before + 3, stack.ArrivedCount);
    }

    public static TheoryData<string> InvalidTokens => new() { "none", "bad-signature", "expired", "wrong-audience", "wrong-issuer", "garbage" };

    [Theory]
    [MemberData(nameof(InvalidTokens))]
    public async Task An_invalid_token_is_refused_401_problem_and_never_reaches_the_api(string kind)
    {
        var before = stack.ArrivedCount;
        var token = kind switch
        {
            "none" => null,
            "bad-signature" => DevTokens.Issue(stack.Auth with { SigningKey = new SymmetricSecurityKey(new byte[32]) },
                Roles.Buyer, "mallory", null, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow),
            "expired" => DevTokens.Issue(stack.Auth, Roles.Buyer, "mallory", null, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow.AddHours(-1)),
            "wrong-audience" => DevTokens.Issue(stack.Auth with { Audience = "another-api" }, Roles.Buyer, "mallory", null,
                TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow),
            "wrong-issuer" => DevTokens.Issue(stack.Auth with { Issuer = "someone-else" }, Roles.Buyer, "mallory", null,
                TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow),
            _ => "not.a.jwt",
        };

        using var response = await _http.SendAsync(GatewayStack.Request(HttpMethod.Post, "/v1/payments", token,
            GatewayStack.PaymentBody(), Guid.NewGuid().ToString()));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Payrail.Api.Problems.Unauthorized, await ProblemTypeAsync(response));
        Assert.Equal(before, stack.ArrivedCount);
    }

    [Fact]
    public async Task A_body_over_64_KiB_is_413_with_or_without_a_declared_length_and_never_reaches_the_api()
    {
        var before = stack.ArrivedCount;
        var big = "{\"pad\":\"" + new string('x', 70 * 1024) + "\"}";
        // A client that declares a large body asks before sending it (Expect: 100-continue): the gateway answers 413 from
        // the declared length alone, so the answer is always read, never cut by the close of a refused upload.
        using var asking = new HttpClient(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromSeconds(30) })
        {
            BaseAddress = new Uri(stack.GatewayUrls[0]), Timeout = TimeSpan.FromSeconds(30),
        };
        var declaredRequest = GatewayStack.Request(HttpMethod.Post, "/v1/payments", stack.Token(Roles.Buyer, "buyer_big"), big, Guid.NewGuid().ToString());
        declaredRequest.Headers.ExpectContinue = true;
        using var declared = await asking.SendAsync(declaredRequest);
        var chunked = GatewayStack.Request(HttpMethod.Post, "/v1/payments", stack.Token(Roles.Buyer, "buyer_big"), null, Guid.NewGuid().ToString());
        chunked.Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big)));
        chunked.Headers.TransferEncodingChunked = true;
        // A chunked body's size is known only by reading it: a server refusing it closes the connection after its answer
        // (HTTP/1.1), and a client still sending chunks may see the close (as the end of the response, or as a broken pipe
        // on its write) before the 413. Either way it is refused; the API never seeing it is the check below.
        HttpResponseMessage? streamed = null;
        try { streamed = await _http.SendAsync(chunked); }
        catch (HttpRequestException e) when (e.InnerException is HttpIOException { HttpRequestError: HttpRequestError.ResponseEnded } or IOException) { }

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
        Assert.Equal(Payrail.Api.Problems.BodyTooLarge, await ProblemTypeAsync(declared));
        if (streamed is not null)
        {
            using (streamed)
            {
                Assert.Equal(HttpStatusCode.RequestEntityTooLarge, streamed.StatusCode);
                Assert.Equal(Payrail.Api.Problems.BodyTooLarge, await ProblemTypeAsync(streamed));
            }
        }
        Assert.Equal(before, stack.ArrivedCount);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/admin")]
    [InlineData("/metrics")]
    [InlineData("/openapi/v1.json")]
    public async Task An_unknown_route_is_404_problem_from_the_gateway(string path)
    {
        var before = stack.ArrivedCount;
        using var response = await _http.SendAsync(GatewayStack.Request(HttpMethod.Get, path, stack.Token(Roles.Ops, "op_1")));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(Payrail.Api.Problems.NotFound, await ProblemTypeAsync(response));
        Assert.Equal(before, stack.ArrivedCount);
    }

    [Fact]
    public async Task The_management_listener_serves_health_and_metrics_but_forwards_nothing()
    {
        using var management = new HttpClient { BaseAddress = new Uri(stack.GatewayManagementUrls[0]) };
        var before = stack.ArrivedCount;

        using var ready = await management.GetAsync("/readyz");
        using var forwarded = await management.SendAsync(GatewayStack.Request(HttpMethod.Get, "/v1/payments?limit=1",
            stack.Token(Roles.Merchant, "u_1", GatewayStack.MerchantId)));

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("up", body.RootElement.GetProperty("redis").GetString());
        Assert.Equal(HttpStatusCode.NotFound, forwarded.StatusCode);
        Assert.Equal(before, stack.ArrivedCount);
    }

    [Fact]
    public async Task Webhooks_pass_without_a_token_because_the_api_checks_the_psp_signature()
    {
        var before = stack.ArrivedCount;
        using var response = await _http.SendAsync(GatewayStack.Request(HttpMethod.Post, "/webhooks/psp/stripe", null, "{}"));

        Assert.NotEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(before + 1, stack.ArrivedCount);
    }

    [Fact]
    public async Task Spoofed_identity_and_forwarding_headers_are_stripped_and_the_api_gets_the_gateways_trace()
    {
        const string clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
        var request = GatewayStack.Request(HttpMethod.Get, "/v1/payments?limit=1", stack.Token(Roles.Merchant, "u_spoof", GatewayStack.MerchantId));
        request.Headers.TryAddWithoutValidation("X-Payrail-Caller", "ops:root");
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "10.0.0.1");
        request.Headers.TryAddWithoutValidation("Forwarded", "for=10.0.0.1");
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{clientTrace}-00f067aa0ba902b7-01");
        request.Headers.TryAddWithoutValidation("baggage", "role=ops");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = stack.Arrivals.SelectMany(a => a.Requests).Last(r => r.Headers.TryGetValue("Authorization", out var auth)
            && auth == request.Headers.Authorization!.ToString()).Headers;
        Assert.DoesNotContain(seen.Keys, k => k.StartsWith("X-Payrail-", StringComparison.OrdinalIgnoreCase));
        Assert.False(seen.ContainsKey("Forwarded"));
        Assert.False(seen.ContainsKey("baggage"));
        Assert.Equal("127.0.0.1", seen["X-Forwarded-For"]);
        var traceResponse = Assert.Single(response.Headers.GetValues("traceresponse"));
        var gatewayTrace = traceResponse.Split('-')[1];
        Assert.NotEqual(clientTrace, gatewayTrace);
        Assert.Equal(gatewayTrace, seen["traceparent"].Split('-')[1]);
    }

    private static async Task<string?> ProblemTypeAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("type").GetString();
    }
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;
using Payrail.Auth;
using Payrail.Tests.Payments;
using Xunit;

namespace Payrail.Tests.Auth;

/// <summary>
/// Bearer tokens are built by hand (header, claims, signature) so that each test can give the API the exact bad shape
/// an attacker or a misconfigured identity provider would send. Every refused token is refused the same way on every
/// endpoint: 401 problem+json, nothing written.
/// </summary>
public sealed class JwtValidationTests(PaymentsApiFixture api) : IClassFixture<PaymentsApiFixture>
{
    private const string Unauthorized = "https://payrail.dev/problems/unauthorized";

    [Fact]
    public async Task A_well_formed_buyer_token_built_by_hand_pays()
    {
        var answer = await api.PostPaymentAsync(Sign(BuyerClaims()), Guid.NewGuid().ToString(), PaymentsApiFixture.Body());

        Assert.Equal(201, answer.Status);
    }

    [Fact]
    public async Task A_well_formed_merchant_token_built_by_hand_lists_payments()
    {
        var answer = await api.GetAsync("/v1/payments?limit=1", Sign(MerchantClaims()));

        Assert.Equal(200, answer.Status);
    }

    [Fact]
    public Task A_token_from_another_issuer_is_refused() => AssertRefusedEverywhereAsync(Sign(With(BuyerClaims(), "iss", "someone-else")));

    [Fact]
    public Task A_token_for_another_audience_is_refused() => AssertRefusedEverywhereAsync(Sign(With(BuyerClaims(), "aud", "another-api")));

    [Fact]
    public Task A_token_without_exp_is_refused() => AssertRefusedEverywhereAsync(Sign(Without(BuyerClaims(), "exp")));

    [Fact]
    public Task An_unsigned_alg_none_token_is_refused()
    {
        var header = Encode(new JsonObject { ["alg"] = "none", ["typ"] = "JWT" });
        return AssertRefusedEverywhereAsync($"{header}.{Encode(BuyerClaims())}.");
    }

    [Fact]
    public Task A_token_not_valid_before_a_time_beyond_the_clock_skew_is_refused() =>
        AssertRefusedEverywhereAsync(Sign(With(BuyerClaims(), "nbf", DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds())));

    [Theory]
    [InlineData("HS384")]
    [InlineData("HS512")]
    public Task A_token_signed_with_the_right_key_but_another_algorithm_is_refused(string algorithm) =>
        AssertRefusedEverywhereAsync(Sign(BuyerClaims(), algorithm));

    [Fact]
    public Task A_token_with_an_unknown_role_is_refused() => AssertRefusedEverywhereAsync(Sign(With(BuyerClaims(), "role", "admin")));

    [Fact]
    public Task A_token_without_a_role_is_refused() => AssertRefusedEverywhereAsync(Sign(Without(BuyerClaims(), "role")));

    [Fact]
    public Task A_token_with_an_empty_role_array_is_refused() =>
        AssertRefusedEverywhereAsync(Sign(With(BuyerClaims(), "role", new JsonArray())));

    [Fact]
    public Task A_token_with_two_roles_and_no_merchant_id_is_refused() =>
        AssertRefusedEverywhereAsync(Sign(With(BuyerClaims(), "role", new JsonArray(Roles.Buyer, Roles.Merchant))));

    [Fact]
    public Task A_merchant_token_with_a_second_role_is_refused() =>
        AssertRefusedEverywhereAsync(Sign(With(MerchantClaims(), "role", new JsonArray(Roles.Merchant, Roles.Ops))));

    [Fact]
    public Task A_token_with_the_same_role_twice_is_refused() =>
        AssertRefusedEverywhereAsync(Sign(With(BuyerClaims(), "role", new JsonArray(Roles.Buyer, Roles.Buyer))));

    [Fact]
    public Task A_token_with_two_subjects_is_refused() =>
        AssertRefusedEverywhereAsync(Sign(With(BuyerClaims(), "sub", new JsonArray("b_one", "b_two"))));

    [Fact]
    public Task A_token_without_a_subject_is_refused() => AssertRefusedEverywhereAsync(Sign(Without(BuyerClaims(), "sub")));

    [Fact]
    public Task A_merchant_token_with_two_merchant_ids_is_refused() =>
        AssertRefusedEverywhereAsync(Sign(With(MerchantClaims(), "merchant_id",
            new JsonArray(PaymentsApiFixture.MerchantId, PaymentsApiFixture.OtherMerchantId))));

    [Fact]
    public Task A_buyer_token_with_two_merchant_ids_is_refused() =>
        AssertRefusedEverywhereAsync(Sign(With(BuyerClaims(), "merchant_id",
            new JsonArray(PaymentsApiFixture.MerchantId, PaymentsApiFixture.OtherMerchantId))));

    [Fact]
    public Task A_merchant_token_without_merchant_id_is_refused() =>
        AssertRefusedEverywhereAsync(Sign(Without(MerchantClaims(), "merchant_id")));

    /// <summary>The buyer-only POST, the merchant-only list and the any-role read all answer 401 and write nothing.</summary>
    private async Task AssertRefusedEverywhereAsync(string token)
    {
        var rowsBefore = await api.RowCountsAsync();

        var answers = new[]
        {
            await api.PostPaymentAsync(token, Guid.NewGuid().ToString(), PaymentsApiFixture.Body()),
            await api.GetAsync("/v1/payments?limit=1", token),
            await api.GetAsync($"/v1/payments/{Guid.NewGuid()}", token),
        };

        Assert.Equal("401 401 401", string.Join(' ', answers.Select(a => a.Status)));
        foreach (var answer in answers)
        {
            Assert.Equal("application/problem+json", answer.ContentType);
            Assert.Equal(Unauthorized, answer.ProblemType);
        }
        Assert.Equal(rowsBefore, await api.RowCountsAsync());
    }

    private JsonObject BuyerClaims()
    {
        var now = DateTimeOffset.UtcNow;
        return new JsonObject
        {
            ["iss"] = api.Auth.Issuer,
            ["aud"] = api.Auth.Audience,
            ["sub"] = "b_jwt_" + Guid.NewGuid().ToString("N")[..10],
            ["role"] = Roles.Buyer,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.AddMinutes(10).ToUnixTimeSeconds(),
        };
    }

    private JsonObject MerchantClaims()
    {
        var claims = With(BuyerClaims(), "role", Roles.Merchant);
        claims["sub"] = "clerk_jwt";
        claims["merchant_id"] = PaymentsApiFixture.MerchantId;
        return claims;
    }

    private static JsonObject With(JsonObject claims, string name, JsonNode? value)
    {
        claims[name] = value;
        return claims;
    }

    private static JsonObject Without(JsonObject claims, string name)
    {
        claims.Remove(name);
        return claims;
    }

    /// <summary>A compact JWS over the claims with the API's own key and the given HMAC algorithm.</summary>
    private string Sign(JsonObject claims, string algorithm = "HS256")
    {
        var signingInput = $"{Encode(new JsonObject { ["alg"] = algorithm, ["typ"] = "JWT" })}.{Encode(claims)}";
        var key = api.Auth.SigningKey!.Key;
        var input = Encoding.ASCII.GetBytes(signingInput);
        var signature = algorithm switch
        {
            "HS256" => HMACSHA256.HashData(key, input),
            "HS384" => HMACSHA384.HashData(key, input),
            "HS512" => HMACSHA512.HashData(key, input),
            _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
        };
        return $"{signingInput}.{Base64UrlEncoder.Encode(signature)}";
    }

    private static string Encode(JsonNode json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json.ToJsonString()));
}

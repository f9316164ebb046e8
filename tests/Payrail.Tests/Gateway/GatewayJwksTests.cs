using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Payrail.Auth;
using Payrail.Gateway;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Gateway;

/// <summary>Production keys: RS256 tokens checked against an identity provider's JWKS (Auth:JwksUrl), HS256 no longer accepted.</summary>
public sealed class GatewayJwksTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task With_a_JWKS_url_an_RS256_token_from_the_published_key_passes_and_any_other_is_401()
    {
        using var published = RSA.Create(2048);
        using var unknown = RSA.Create(2048);
        var jwksUrl = $"http://127.0.0.1:{FreePort.Next()}";
        await using var provider = WebApplication.CreateSlimBuilder().Build();
        provider.Urls.Add(jwksUrl);
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(published.ExportParameters(false)) { KeyId = "k1" });
        provider.MapGet("/jwks.json", () => Results.Text(JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = jwk.Kty, kid = jwk.Kid, use = "sig", alg = "RS256", n = jwk.N, e = jwk.E } },
        }), "application/json"));
        await provider.StartAsync();

        var gatewayUrl = $"http://127.0.0.1:{FreePort.Next()}";
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:Urls"] = gatewayUrl,
            ["Gateway:ManagementUrls"] = $"http://127.0.0.1:{FreePort.Next()}",
            // No API: a token that passes gets the gateway's 503, one that does not gets 401.
            ["Gateway:ApiUrls"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["Redis:Configuration"] = redis.Configuration,
            ["Auth:JwksUrl"] = jwksUrl + "/jwks.json",
            ["Logging:LogLevel:Default"] = "Warning",
        }).Build();
        await using var gateway = GatewayHost.Build(configuration);
        await gateway.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(gatewayUrl) };

        Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(http, Rs256(published, "k1")));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(http, Rs256(unknown, "k1")));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(http, Rs256(unknown, "k2")));
        var hs256 = DevTokens.Issue(new AuthOptions("payrail-dev", "payrail-api", new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32))),
            Roles.Buyer, "mallory", null, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow);
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(http, hs256));
    }

    private static string Rs256(RSA key, string keyId) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = "payrail-dev",
        Audience = "payrail-api",
        Claims = new Dictionary<string, object> { [Caller.SubjectClaim] = "alice", [Caller.RoleClaim] = Roles.Buyer },
        Expires = DateTime.UtcNow.AddMinutes(5),
        SigningCredentials = new SigningCredentials(new RsaSecurityKey(key) { KeyId = keyId }, SecurityAlgorithms.RsaSha256),
    });

    private static async Task<HttpStatusCode> StatusAsync(HttpClient http, string token)
    {
        using var response = await http.SendAsync(GatewayStack.Request(HttpMethod.Get, $"/v1/payments/{Guid.NewGuid()}", token));
        return response.StatusCode;
    }
}

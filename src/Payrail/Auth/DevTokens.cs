using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Payrail.Auth;

/// <summary>Issues development tokens (`payrail token`, tests). Production tokens come from a real identity provider.</summary>
public static class DevTokens
{
    public static string Issue(AuthOptions options, string role, string subject, string? merchantId, TimeSpan lifetime, DateTimeOffset now)
    {
        var claims = new Dictionary<string, object> { [Caller.SubjectClaim] = subject, [Caller.RoleClaim] = role };
        if (merchantId is not null) claims[Caller.MerchantClaim] = merchantId;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = options.Issuer,
            Audience = options.Audience,
            Claims = claims,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = now.Add(lifetime).UtcDateTime,
            SigningCredentials = new SigningCredentials(options.SigningKey ?? throw new InvalidOperationException(
                "development tokens are HS256: set Auth:SigningKey (with Auth:JwksUrl, tokens come from the identity provider)"),
                SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }
}

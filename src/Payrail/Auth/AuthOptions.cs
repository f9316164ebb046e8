using System.Text;
using Microsoft.IdentityModel.Tokens;
using Payrail.DevEnvironment;

namespace Payrail.Auth;

/// <summary>
/// Bearer JWT settings (section <c>Auth</c>): HS256 with a shared signing key. Without a configured
/// key a development key is generated once into <c>.payrail/secrets/</c>, so `payrail api` and
/// `payrail token` agree without anyone copying a secret around.
/// </summary>
public sealed record AuthOptions(string Issuer, string Audience, SymmetricSecurityKey SigningKey)
{
    public const string SectionName = "Auth";
    public const string DevSecretName = "jwt-signing-key";
    private const int MinKeyBytes = 32;

    public static AuthOptions From(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        var key = section["SigningKey"];
        if (string.IsNullOrEmpty(key)) key = DevSecrets.ForProject().GetOrCreate(DevSecretName);
        var keyBytes = Encoding.UTF8.GetBytes(key);
        if (keyBytes.Length < MinKeyBytes)
            throw new InvalidOperationException($"Auth:SigningKey must be at least {MinKeyBytes} bytes for HS256.");
        return new AuthOptions(
            section["Issuer"] is { Length: > 0 } issuer ? issuer : "payrail-dev",
            section["Audience"] is { Length: > 0 } audience ? audience : "payrail-api",
            new SymmetricSecurityKey(keyBytes));
    }
}

using System.Text;
using Microsoft.IdentityModel.Tokens;
using Payrail.DevEnvironment;
using Payrail.Hosting;

namespace Payrail.Auth;

/// <summary>
/// Bearer JWT settings (section <c>Auth</c>): HS256 with a shared signing key. A service needs a configured
/// <c>Auth:SigningKey</c>: an empty one used to become a generated key that anyone who can read
/// <c>.payrail/secrets/</c> could use to mint ops tokens. The generated development key is used only by the local
/// dev platform (`payrail up` sets <c>Auth:AllowDevKey</c>) or with an explicit <c>Auth:AllowDevKey=true</c>.
/// In production an identity provider signs with RS256 and publishes its keys: <c>Auth:JwksUrl</c> makes the API and
/// the gateway accept RS256 tokens checked against that key set (fetched, cached and refreshed), and HS256 no longer.
/// </summary>
/// <param name="SigningKey">The HS256 key; null when <paramref name="JwksUrl"/> is set.</param>
public sealed record AuthOptions(string Issuer, string Audience, SymmetricSecurityKey? SigningKey, Uri? JwksUrl = null)
{
    public const string SectionName = "Auth";
    public const string DevSecretName = "jwt-signing-key";
    private const int MinKeyBytes = 32;

    /// <summary>For a service checking tokens: the configured key, the development key only when allowed; otherwise it refuses to start.</summary>
    public static AuthOptions From(IConfiguration configuration, DevSecrets? devSecrets = null)
    {
        var section = configuration.GetSection(SectionName);
        if (section["JwksUrl"] is { Length: > 0 } jwks)
        {
            // https only, except on loopback (a local identity provider in development and tests).
            if (!Uri.TryCreate(jwks, UriKind.Absolute, out var jwksUrl) || !(jwksUrl.Scheme == "https" || (jwksUrl.Scheme == "http" && jwksUrl.IsLoopback)))
                throw new InvalidSettingsException("Auth:JwksUrl must be an absolute https URL (http only on loopback).");
            return new AuthOptions(IssuerOf(section), AudienceOf(section), null, jwksUrl);
        }
        var key = section["SigningKey"] is { Length: > 0 } configured ? configured
            : AllowsDevKey(section) ? (devSecrets ?? DevSecrets.ForProject()).GetOrCreate(DevSecretName)
            : throw new InvalidSettingsException(
                "Auth:SigningKey is empty: set it to the HS256 key of the token issuer (PAYRAIL__Auth__SigningKey), or set " +
                "Auth:AllowDevKey=true to use a generated development key (local development only; `payrail up` does this).");
        return Create(section, key);
    }

    /// <summary>
    /// For development tools that sign tokens (`payrail token`, `payrail bench`): the configured key, else the
    /// development key the local platform generated. A tool never generates one itself, so no key appears that no
    /// service was told to trust.
    /// </summary>
    public static AuthOptions ForDevTool(IConfiguration configuration, DevSecrets? devSecrets = null)
    {
        var section = configuration.GetSection(SectionName);
        var secrets = devSecrets ?? DevSecrets.ForProject();
        if (section["SigningKey"] is { Length: > 0 } || AllowsDevKey(section)) return From(configuration, secrets);
        var key = secrets.TryRead(DevSecretName) ?? throw new InvalidSettingsException(
            "Auth:SigningKey is empty and no development key exists in .payrail/secrets/: start `payrail up` first, " +
            "or set Auth:SigningKey (PAYRAIL__Auth__SigningKey) to the key the API checks tokens with.");
        return Create(section, key);
    }

    private static bool AllowsDevKey(IConfigurationSection section) =>
        bool.TryParse(section["AllowDevKey"], out var allowed) && allowed;

    private static AuthOptions Create(IConfigurationSection section, string key)
    {
        var keyBytes = Encoding.UTF8.GetBytes(key);
        if (keyBytes.Length < MinKeyBytes)
            throw new InvalidSettingsException($"Auth:SigningKey must be at least {MinKeyBytes} bytes for HS256.");
        return new AuthOptions(IssuerOf(section), AudienceOf(section), new SymmetricSecurityKey(keyBytes));
    }

    private static string IssuerOf(IConfigurationSection section) => section["Issuer"] is { Length: > 0 } issuer ? issuer : "payrail-dev";

    private static string AudienceOf(IConfigurationSection section) => section["Audience"] is { Length: > 0 } audience ? audience : "payrail-api";
}

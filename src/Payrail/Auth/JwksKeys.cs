using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Payrail.Auth;

/// <summary>
/// An identity provider's published keys (<c>Auth:JwksUrl</c>, a bare JWKS document, not OpenID discovery), as the
/// JWT handler's configuration: fetched on first use, cached, refreshed every hour and at most every 30 s when a token
/// names a key id the cache lacks (key rotation). A fetch that fails keeps the last keys.
/// </summary>
public static class JwksKeys
{
    public static ConfigurationManager<OpenIdConnectConfiguration> Manager(Uri jwksUrl) =>
        new(jwksUrl.ToString(), new JwksRetriever(), new HttpDocumentRetriever { RequireHttps = jwksUrl.Scheme == "https" })
        {
            AutomaticRefreshInterval = TimeSpan.FromHours(1),
            RefreshInterval = TimeSpan.FromSeconds(30),
        };

    private sealed class JwksRetriever : IConfigurationRetriever<OpenIdConnectConfiguration>
    {
        public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(string address, IDocumentRetriever retriever, CancellationToken cancel)
        {
            var keys = new JsonWebKeySet(await retriever.GetDocumentAsync(address, cancel));
            var configuration = new OpenIdConnectConfiguration { JsonWebKeySet = keys };
            foreach (var key in keys.GetSigningKeys()) configuration.SigningKeys.Add(key);
            return configuration;
        }
    }
}

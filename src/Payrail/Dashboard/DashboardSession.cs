using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Payrail.Auth;

namespace Payrail.Dashboard;

/// <summary>
/// A dashboard session is the caller's own API token (a merchant or ops JWT of the API's issuer) in an HttpOnly,
/// SameSite=Strict cookie: never in a URL, never readable by script. Every request is checked by the same JWT rules as
/// the API (<see cref="AuthExtensions.AddPayrailJwt"/>), reading the token from the cookie instead of a header, so an
/// expired or forged cookie is no session at all (the page sends the browser to sign in). The actions call the API with
/// that same token, so the API decides what the merchant may do.
/// </summary>
public sealed class DashboardSession(DashboardWebOptions options, bool devSignInAllowed)
{
    public const string CookieName = "payrail_session";

    /// <summary>
    /// The development sign-in (a list of local merchants, a token minted here) exists only while the API checks
    /// tokens against the generated development key: with a configured key or an identity provider it is refused.
    /// </summary>
    public bool DevSignInAllowed { get; } = devSignInAllowed;

    public DashboardWebOptions Options { get; } = options;

    public static bool DevKeyInUse(IConfiguration configuration) =>
        string.IsNullOrEmpty(configuration["Auth:SigningKey"]) && string.IsNullOrEmpty(configuration["Auth:JwksUrl"])
        && bool.TryParse(configuration["Auth:AllowDevKey"], out var allowed) && allowed;

    /// <summary>The signed-in merchant or operator; null without a valid session. Buyers never get a session.</summary>
    public static Caller? CallerOf(HttpContext http) =>
        http.User.Identity?.IsAuthenticated == true && Caller.TryFrom(http.User) is { IsBuyer: false } caller ? caller : null;

    public static string? TokenOf(HttpContext http) => http.Request.Cookies[CookieName];

    /// <summary>The JWT handler reads the session cookie, never an Authorization header.</summary>
    public static void ReadTokenFromCookie(JwtBearerOptions jwt)
    {
        jwt.Events.OnMessageReceived = context =>
        {
            if (context.Request.Cookies[CookieName] is { } token) context.Token = token;
            else context.NoResult();
            return Task.CompletedTask;
        };
    }

    /// <summary>
    /// Checks <paramref name="token"/> with the very parameters the request authentication uses (issuer, audience, keys,
    /// an identity provider's key set); on success the cookie holds it until it expires. (The request's own
    /// authentication ran before the form was read, and its result is cached for the request.)
    /// </summary>
    public async Task<Caller?> SignInAsync(HttpContext http, string token)
    {
        var jwt = http.RequestServices.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>().Get(JwtBearerDefaults.AuthenticationScheme);
        var parameters = jwt.TokenValidationParameters.Clone();
        if (jwt.ConfigurationManager is { } keys)
            parameters.IssuerSigningKeys = (await keys.GetConfigurationAsync(http.RequestAborted)).SigningKeys;
        var result = await jwt.TokenHandlers[0].ValidateTokenAsync(token, parameters);
        if (!result.IsValid || Caller.TryFrom(new ClaimsPrincipal(result.ClaimsIdentity)) is not { IsBuyer: false } caller) return null;
        http.Response.Cookies.Append(CookieName, token, Cookie(http, result.SecurityToken.ValidTo is var to && to > DateTime.MinValue
            ? new DateTimeOffset(DateTime.SpecifyKind(to, DateTimeKind.Utc)) : null));
        return caller;
    }

    public static void SignOut(HttpContext http) => http.Response.Cookies.Delete(CookieName, Cookie(http, null));

    private static CookieOptions Cookie(HttpContext http, DateTimeOffset? expires) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = http.Request.IsHttps,
        Path = "/",
        Expires = expires,
        IsEssential = true,
    };
}

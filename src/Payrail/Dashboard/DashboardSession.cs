using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
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
    private const string CandidateKey = "payrail.dashboard.candidate-token";

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

    /// <summary>The JWT handler reads the cookie (or a token being signed in with), never an Authorization header.</summary>
    public static void ReadTokenFromCookie(JwtBearerOptions jwt)
    {
        jwt.Events.OnMessageReceived = context =>
        {
            var token = context.HttpContext.Items[CandidateKey] as string ?? context.Request.Cookies[CookieName];
            if (token is null) context.NoResult();
            else context.Token = token;
            return Task.CompletedTask;
        };
    }

    /// <summary>Checks <paramref name="token"/> as the API would; on success the cookie holds it until it expires.</summary>
    public async Task<Caller?> SignInAsync(HttpContext http, string token)
    {
        http.Items[CandidateKey] = token;
        var result = await http.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme);
        http.Items.Remove(CandidateKey);
        if (!result.Succeeded || Caller.TryFrom(result.Principal) is not { IsBuyer: false } caller) return null;
        http.Response.Cookies.Append(CookieName, token, Cookie(http, ExpiresAt(result.Principal)));
        return caller;
    }

    public static void SignOut(HttpContext http) => http.Response.Cookies.Delete(CookieName, Cookie(http, null));

    private static DateTimeOffset? ExpiresAt(ClaimsPrincipal principal) =>
        long.TryParse(principal.FindFirst("exp")?.Value, out var seconds) ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;

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

using Microsoft.AspNetCore.Antiforgery;

namespace Payrail.Dashboard;

/// <summary>
/// Anti-forgery for every mutating form (ASP.NET Core's synchronizer tokens: a cookie plus a form field bound to the
/// signed-in caller). The session cookie is SameSite=Strict as well; the token is the check that does not depend on the
/// browser.
/// </summary>
public sealed class DashboardAntiforgery(IAntiforgery antiforgery)
{
    public const string CookieName = "payrail_af";
    public const string FieldName = "__af";

    public sealed record Token(string FieldName, string Value);

    public Token Issue(HttpContext http)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        return new Token(tokens.FormFieldName, tokens.RequestToken ?? throw new InvalidOperationException("antiforgery issued no request token"));
    }

    public async Task<bool> IsValidAsync(HttpContext http)
    {
        if (!http.Request.HasFormContentType) return false;
        return await antiforgery.IsRequestValidAsync(http);
    }
}

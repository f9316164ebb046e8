using System.Text;
using Npgsql;
using Payrail.Auth;

namespace Payrail.Dashboard;

/// <summary>
/// Sign-in and sign-out. In production the merchant pastes a token of the API's issuer (its identity provider's); in
/// development (<see cref="DashboardSession.DevSignInAllowed"/>) the page lists the local merchants and mints a token
/// with the development key, as `payrail token` does. Either way the token goes into the HttpOnly cookie by a POST,
/// never through a URL.
/// </summary>
public static class SignInEndpoints
{
    private const int MaxListedMerchants = 100;
    private const int MaxTokenChars = 8_192;
    public const string DevSubject = "dashboard-dev";

    public static IEndpointRouteBuilder MapSignInEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/signin", SignInPageAsync);
        app.MapPost("/signin", SignInWithTokenAsync);
        app.MapPost("/signin/dev", SignInDevAsync);
        app.MapPost("/signout", SignOutAsync);
        return app;
    }

    private static async Task<IResult> SignInPageAsync(HttpContext http, DashboardSession session, DashboardAntiforgery antiforgery,
        NpgsqlDataSource database) =>
        await RenderAsync(http, session, antiforgery, database, message: null, status: 200);

    private static async Task<IResult> RenderAsync(HttpContext http, DashboardSession session, DashboardAntiforgery antiforgery,
        NpgsqlDataSource database, string? message, int status)
    {
        var token = antiforgery.Issue(http);
        var body = new StringBuilder("<h1>Sign in</h1>");
        if (message is not null) body.Append("<p class=\"problem\" role=\"alert\">").Append(Html.E(message)).Append("</p>");
        if (session.DevSignInAllowed)
        {
            body.Append("<section><h2>Development</h2><p>This dashboard checks tokens with the development key: sign in as a local merchant.</p>")
                .Append("<ul class=\"merchants\">");
            foreach (var (id, name) in await MerchantsAsync(database, http.RequestAborted))
                body.Append("<li><form method=\"post\" action=\"/signin/dev\">").Append(Html.AntiforgeryField(token))
                    .Append("<input type=\"hidden\" name=\"merchant_id\" value=\"").Append(Html.E(id)).Append("\">")
                    .Append("<button type=\"submit\">").Append(Html.E(name)).Append(" <span class=\"muted\">").Append(Html.E(id))
                    .Append("</span></button></form></li>");
            body.Append("<li><form method=\"post\" action=\"/signin/dev\">").Append(Html.AntiforgeryField(token))
                .Append("<input type=\"hidden\" name=\"role\" value=\"ops\"><button type=\"submit\">Operations (ops)</button></form></li>")
                .Append("</ul></section>");
        }
        body.Append("<section><h2>With a token</h2><form method=\"post\" action=\"/signin\" class=\"stack\">").Append(Html.AntiforgeryField(token))
            .Append("<label for=\"token\">Merchant or ops token (JWT of the API's issuer)</label>")
            .Append("<textarea id=\"token\" name=\"token\" rows=\"4\" autocomplete=\"off\" spellcheck=\"false\" required></textarea>")
            .Append("<button type=\"submit\">Sign in</button></form></section>");
        return Html.Page("Sign in", null, body.ToString(), status: status);
    }

    private static async Task<IResult> SignInWithTokenAsync(HttpContext http, DashboardSession session, DashboardAntiforgery antiforgery,
        NpgsqlDataSource database)
    {
        if (!await antiforgery.IsValidAsync(http)) return await RenderAsync(http, session, antiforgery, database, "The form expired; try again.", 400);
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var token = form["token"].ToString().Trim();
        if (token.Length is 0 or > MaxTokenChars || await session.SignInAsync(http, token) is not { } caller)
            return await RenderAsync(http, session, antiforgery, database, "That token is not valid here (expired, another issuer, or a buyer's).", 401);
        return Home(caller);
    }

    private static async Task<IResult> SignInDevAsync(HttpContext http, DashboardSession session, DashboardAntiforgery antiforgery,
        NpgsqlDataSource database, AuthOptions auth, TimeProvider clock)
    {
        if (!session.DevSignInAllowed)
            return await RenderAsync(http, session, antiforgery, database, "Development sign-in is off: this dashboard does not use the development key.", 403);
        if (!await antiforgery.IsValidAsync(http)) return await RenderAsync(http, session, antiforgery, database, "The form expired; try again.", 400);
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var ops = form["role"] == Roles.Ops;
        var merchantId = form["merchant_id"].ToString();
        if (!ops && !(await MerchantsAsync(database, http.RequestAborted)).Any(m => m.Id == merchantId))
            return await RenderAsync(http, session, antiforgery, database, "No such merchant.", 400);
        var token = DevTokens.Issue(auth, ops ? Roles.Ops : Roles.Merchant, DevSubject, ops ? null : merchantId,
            TimeSpan.FromMinutes(session.Options.DevSessionMinutes), clock.GetUtcNow());
        var caller = await session.SignInAsync(http, token) ?? throw new InvalidOperationException("a freshly minted dev token was refused");
        return Home(caller);
    }

    private static async Task<IResult> SignOutAsync(HttpContext http, DashboardAntiforgery antiforgery)
    {
        // A forged sign-out could only sign someone out, but it is a mutating form like the others.
        if (!await antiforgery.IsValidAsync(http)) return Results.Redirect("/signin");
        DashboardSession.SignOut(http);
        return Results.Redirect("/signin", permanent: false, preserveMethod: false);
    }

    private static IResult Home(Caller caller) => Results.Redirect(caller.IsOps ? "/ops" : "/payments");

    private static async Task<List<(string Id, string Name)>> MerchantsAsync(NpgsqlDataSource database, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT id, name FROM merchants ORDER BY id LIMIT @limit");
        command.Parameters.AddWithValue("limit", MaxListedMerchants);
        var merchants = new List<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) merchants.Add((reader.GetString(0), reader.GetString(1)));
        return merchants;
    }
}

using System.Text;

namespace Payrail.Dashboard;

/// <summary>
/// GET /ops (ops token only): the sections every feature registers as <see cref="IOpsSection"/> (consumer lag and dead
/// letters, stuck payments; reconciliation runs and alerts when reconciliation exists), read at once and shown by Order.
/// </summary>
public static class OpsPage
{
    public static IEndpointRouteBuilder MapOpsPage(this IEndpointRouteBuilder app)
    {
        app.MapGet("/ops", RenderAsync);
        return app;
    }

    private static async Task<IResult> RenderAsync(HttpContext http, DashboardAntiforgery antiforgery, IEnumerable<IOpsSection> sections)
    {
        if (DashboardSession.CallerOf(http) is not { } caller) return Results.Redirect("/signin");
        var token = antiforgery.Issue(http);
        if (!caller.IsOps)
            return Html.Page("Ops", caller, "<h1>Ops</h1><p class=\"problem\" role=\"alert\">This page needs an ops sign-in.</p>", token, 403);
        // Each section reads on its own (a broker, the database) within its own bounds: started together, the page waits
        // for the slowest one, not for their sum.
        var parts = sections.OrderBy(s => s.Order).Select(s => s.RenderAsync(http.RequestAborted)).ToList();
        var body = new StringBuilder(8 * 1024);
        body.Append("<h1>Operations</h1>");
        foreach (var part in parts) body.Append(await part);
        return Html.Page("Ops", caller, body.ToString(), token);
    }
}

/// <summary>
/// One part of the ops view. A feature adds its part by registering one in <see cref="DashboardHost"/>
/// (<c>services.AddSingleton&lt;IOpsSection, MySection&gt;()</c>); the page needs no change.
/// </summary>
public interface IOpsSection
{
    /// <summary>Its place on the page, lowest first: consumers 100, stuck payments 200, reconciliation 300 (leave gaps).</summary>
    int Order { get; }

    /// <summary>
    /// Its HTML: one <c>&lt;section id="…"&gt;</c> starting with an <c>&lt;h2&gt;</c>, every value through <see cref="Html.E"/>.
    /// Every read is bounded by its own timeout; a source that does not answer shows "?" instead of failing the page.
    /// </summary>
    Task<string> RenderAsync(CancellationToken cancellationToken);
}

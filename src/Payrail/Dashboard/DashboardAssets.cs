using System.Reflection;
using System.Security.Cryptography;

namespace Payrail.Dashboard;

/// <summary>
/// The dashboard's only assets, compiled into the binary (no CDN, nothing fetched from elsewhere) and served with a
/// content hash in the URL, so a browser may cache them for a year and a new build is never mixed with an old one.
/// </summary>
public static class DashboardAssets
{
    private sealed record Asset(byte[] Bytes, string ContentType, string Hash);

    private static readonly Dictionary<string, Asset> Assets = new()
    {
        ["dashboard.css"] = Load("dashboard.css", "text/css; charset=utf-8"),
        ["dashboard.js"] = Load("dashboard.js", "text/javascript; charset=utf-8"),
    };

    public static string StylesheetPath { get; } = PathOf("dashboard.css");
    public static string ScriptPath { get; } = PathOf("dashboard.js");

    public static IEndpointRouteBuilder MapDashboardAssets(this IEndpointRouteBuilder app)
    {
        app.MapGet("/assets/{hash}/{name}", (HttpContext http, string hash, string name) =>
        {
            if (!Assets.TryGetValue(name, out var asset) || asset.Hash != hash) return Results.NotFound();
            http.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
            return Results.Bytes(asset.Bytes, asset.ContentType);
        });
        return app;
    }

    private static string PathOf(string name) => $"/assets/{Assets[name].Hash}/{name}";

    private static Asset Load(string name, string contentType)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"Payrail.Dashboard.Assets.{name}")
            ?? throw new InvalidOperationException($"dashboard asset {name} is not embedded");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        var bytes = copy.ToArray();
        return new Asset(bytes, contentType, Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]);
    }
}

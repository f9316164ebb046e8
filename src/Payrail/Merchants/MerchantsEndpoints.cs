using System.Text.Json;
using Payrail.Api;
using Payrail.Auth;
using Payrail.Payments;

namespace Payrail.Merchants;

public static class MerchantsEndpoints
{
    private const int MaxNameChars = 200;

    public static IEndpointRouteBuilder MapMerchantsEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/merchants", CreateAsync).RequireAuthorization(Roles.Ops);
        return app;
    }

    private static async Task<IResult> CreateAsync(HttpContext http, KnownMerchants merchants)
    {
        var (body, refusal) = await RequestBody.ReadJsonAsync(http);
        if (refusal is not null) return refusal;

        string? id = null, name = null;
        var unreadable = false;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                if (document.RootElement.TryGetProperty("id", out var idValue) && idValue.ValueKind == JsonValueKind.String)
                    unreadable |= (id = StorableText.Read(idValue)) is null;
                if (document.RootElement.TryGetProperty("name", out var nameValue) && nameValue.ValueKind == JsonValueKind.String)
                    unreadable |= (name = StorableText.Read(nameValue)) is null;
            }
        }
        catch (JsonException)
        {
            return Problems.Result(Problems.InvalidJson, "Malformed JSON", StatusCodes.Status400BadRequest, "The body is not valid JSON.");
        }

        // A lone surrogate or U+0000 would reach PostgreSQL, which refuses it: a 500 instead of the client's mistake.
        if (unreadable || (name is not null && !StorableText.IsStorable(name)))
            return Problems.Result(Problems.InvalidText, "Invalid text", StatusCodes.Status400BadRequest,
                "Text in the request must be valid Unicode without control characters (tab, line feed and carriage return are allowed).");

        var errors = new Dictionary<string, string[]>();
        if (id is null || !MerchantDirectory.ValidId().IsMatch(id)) errors["id"] = ["must be 1-64 characters of letters, digits, '_' or '-'"];
        if (string.IsNullOrWhiteSpace(name) || name.Length > MaxNameChars) errors["name"] = [$"must be 1-{MaxNameChars} characters"];
        if (errors.Count > 0)
            return Problems.Result(Problems.InvalidRequest, "Invalid request", StatusCodes.Status400BadRequest, "Some fields are invalid.", errors);

        return await merchants.CreateAsync(id!, name!) switch
        {
            MerchantCreation.Created => Results.Json(new { id, @object = "merchant", name }, statusCode: StatusCodes.Status201Created),
            MerchantCreation.AlreadyExists => Results.Json(new { id, @object = "merchant", name }),
            _ => Problems.Result(Problems.MerchantExists, "Merchant exists", StatusCodes.Status409Conflict,
                "A merchant with this id already exists under another name."),
        };
    }
}

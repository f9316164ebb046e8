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
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                if (document.RootElement.TryGetProperty("id", out var idValue) && idValue.ValueKind == JsonValueKind.String) id = idValue.GetString();
                if (document.RootElement.TryGetProperty("name", out var nameValue) && nameValue.ValueKind == JsonValueKind.String) name = nameValue.GetString();
            }
        }
        catch (JsonException)
        {
            return Problems.Result(Problems.InvalidJson, "Malformed JSON", StatusCodes.Status400BadRequest, "The body is not valid JSON.");
        }

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
